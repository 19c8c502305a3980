// UTF-8 as RFC 3629 defines it, for every place that must tell valid text from bytes: addresses
// and ESMTP values under SMTPUTF8, spooled envelopes, DSN texts, .reg files of unknown encoding.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// True when `text` is well-formed UTF-8 (RFC 3629 4): no overlong forms, no surrogates
/// (U+D800-U+DFFF), nothing above U+10FFFF, no stray continuation byte, no truncated sequence.
bool is_valid_utf8(std::string_view text);

/// The code points of `text`; nullopt when it is not valid UTF-8 (as is_valid_utf8).
std::optional<std::u32string> decode_utf8(std::string_view text);

/// `text` safe to show on a terminal and to grep: C0 controls (TAB, CR and LF included) and DEL
/// as `\xHH`, C1 controls (U+0080-U+009F, which terminals may take as CSI and the like) as
/// `\uHHHH`, and each byte that is not part of well-formed UTF-8 as `\xHH`; everything else (printable
/// ASCII, other UTF-8) as it is. A backslash is not escaped: the result is for reading (logs,
/// queue listings), not for decoding back.
std::string escape_control_characters(std::string_view text);

/// Appends the UTF-8 form of `point`; a surrogate or a value above U+10FFFF, which has none,
/// becomes U+FFFD (the replacement character).
void append_utf8(std::string& out, char32_t point);

}  // namespace sluice
