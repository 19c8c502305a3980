#include "smtp/sasl.h"

namespace sluice::smtp {

std::string plain_response(std::string_view user, std::string_view password) {
  std::string message;
  message.push_back('\0');
  message.append(user);
  message.push_back('\0');
  message.append(password);
  return base64_encode(message);
}

std::string xoauth2_response(std::string_view user, std::string_view token) {
  std::string message = "user=";
  message.append(user);
  message.append(
      "\x01"
      "auth=Bearer ");
  message.append(token);
  message.append("\x01\x01");
  return base64_encode(message);
}

}  // namespace sluice::smtp
