// Asio's compiled part, once for the whole program. With ASIO_SEPARATE_COMPILATION (CMakeLists.txt)
// the headers declare Asio's non-template functions without defining them, and this translation
// unit defines them all, the SSL part included: 40 translation units include Asio, and each of
// them compiled those definitions again before.
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
