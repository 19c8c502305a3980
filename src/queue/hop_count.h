// Mail-loop detection (RFC 5321 6.3): the hop count of a message is the number of Received:
// header fields in its header section (each SMTP server it passed added one), plus, for local
// delivery, its Delivered-To: fields (each local delivery that sent it on added one). The receiver
// (inbound/session) refuses a message whose count exceeds [limits] max_hop_count at DATA; the
// delivery engine (outbound/) bounces one that would exceed it at the next hop instead of sending
// it. Both count here, so both sides agree on what a hop is.
#pragma once
#include <cstddef>
#include <string_view>

#include "smtp/reply.h"

namespace sluice::queue {

/// Received: fields in the header section of `message_or_header_section`: the lines up to the
/// first empty line (CRLF or LF), or up to the first line that is neither a header field nor a
/// folded continuation (where a mail reader starts the body too). Field names are matched
/// without regard to case, with blanks allowed before the colon (RFC 5322 obsolete syntax); a
/// folded field counts once. Nothing after the header section counts, so a body line that looks
/// like "Received: ..." is no hop.
int count_hops(std::string_view message_or_header_section);

/// The same, counting Delivered-To: fields too: the count for local delivery.
int count_local_hops(std::string_view message_or_header_section);

/// True when `hops` exceeds `max_hop_count` (a message may arrive with up to max_hop_count
/// Received: fields, as Exchange's MaxHopCount counts them).
inline bool exceeds_hop_limit(int hops, std::size_t max_hop_count) {
  return hops > 0 && static_cast<std::size_t>(hops) > max_hop_count;
}

/// Exchange's reply and diagnostic for a message over the limit:
/// "554 5.4.14 Hop count exceeded - possible mail loop".
smtp::Reply hop_count_exceeded_reply();

}  // namespace sluice::queue
