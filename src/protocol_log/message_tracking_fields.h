// The columns of Exchange's message tracking log (MSGTRK*.LOG), in the order of Exchange 2013 and
// later (Exchange 2010 stops at custom-data): the contract between the gateway's tracking log
// (src/tracking/), which writes them, and logscan, which reads files without a #Fields line by them.
#pragma once
#include <array>
#include <string_view>

namespace sluice::protocol_log {

inline constexpr std::array<std::string_view, 30> kMessageTrackingFields = {"date-time",
                                                                            "client-ip",
                                                                            "client-hostname",
                                                                            "server-ip",
                                                                            "server-hostname",
                                                                            "source-context",
                                                                            "connector-id",
                                                                            "source",
                                                                            "event-id",
                                                                            "internal-message-id",
                                                                            "message-id",
                                                                            "network-message-id",
                                                                            "recipient-address",
                                                                            "recipient-status",
                                                                            "total-bytes",
                                                                            "recipient-count",
                                                                            "related-recipient-address",
                                                                            "reference",
                                                                            "message-subject",
                                                                            "sender-address",
                                                                            "return-path",
                                                                            "message-info",
                                                                            "directionality",
                                                                            "tenant-id",
                                                                            "original-client-ip",
                                                                            "original-server-ip",
                                                                            "custom-data",
                                                                            "transport-traffic-type",
                                                                            "log-id",
                                                                            "schema-version"};

}  // namespace sluice::protocol_log
