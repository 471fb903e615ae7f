// A small two-way set-associative cache in front of SymbolTable::Intern for
// decoders. Streams repeat the same few thousand strings (container ids,
// images, routes); a hit costs a cheap hash of the ends of the string and
// one or two comparisons instead of a full hash and a probe of the symbol
// table. Strings up to 24 bytes are held whole in the entry, so their hits
// touch no other memory. Two ways keep two busy strings that share a set
// from evicting each other on every event, which a direct-mapped cache of
// this size did for about one lookup in seven on a fleet of 1,000
// containers.

#ifndef TIMESCAN_LIB_READERS_INTERN_CACHE_H_
#define TIMESCAN_LIB_READERS_INTERN_CACHE_H_

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "timescan/symbol_table.h"

namespace timescan::internal {

// REQUIRES: a cache is used with one table for the table's lifetime (a
// decoder inside an engine or a reader, both holding their table); a new
// table at the address of a destroyed one would be taken for it.
class InternCache {
 public:
  // Returns symbols.Intern(text).
  Symbol Intern(SymbolTable& symbols, std::string_view text) {
    if (&symbols != table_) {
      sets_.fill(Set{});
      table_ = &symbols;
    }
    // The table keeps a cut copy of an overlong string: an entry holding it
    // could not be compared with the text.
    if (text.size() > kMaxSymbolBytes) return symbols.Intern(text);
    const Key key = KeyOf(text);
    Entry* ways = sets_[SetOf(key)].ways;
    if (ways[0].Holds(key, text)) return ways[0].symbol;
    if (ways[1].Holds(key, text)) {
      std::swap(ways[0], ways[1]);  // the most recent first
      return ways[0].symbol;
    }
    const Symbol symbol = symbols.Intern(text);
    ways[1] = ways[0];
    ways[0] = Entry{key.head, key.tail, {}, key.size, symbol};
    if (key.size <= kWholeBytes) {
      ways[0].middle = key.middle;
    } else {
      // Names live as long as the table and never move.
      ways[0].data = symbols.Name(symbol).data();
    }
    return symbol;
  }

  // Brings the set of `text` towards the cache: a decoder prefetches the
  // strings of a record before interning them, so their misses overlap.
  void Prefetch(std::string_view text) const { __builtin_prefetch(&sets_[SetOf(KeyOf(text))]); }

 private:
  static constexpr int kSetBits = 11;
  // Strings up to this long are compared by their key alone.
  static constexpr uint32_t kWholeBytes = 24;

  // The first and last 8 bytes of a string (zero-padded when shorter), its
  // bytes 8 to 16 when it is longer than 16, and its length: equal keys mean
  // equal strings up to 24 bytes (the three words overlap to cover them),
  // so most lookups compare words and no memory.
  struct Key {
    uint64_t head = 0, tail = 0, middle = 0;
    uint32_t size = 0;
  };

  static Key KeyOf(std::string_view text) {
    Key key;
    // Intern passes at most kMaxSymbolBytes; for Prefetch the key is a hint.
    key.size = static_cast<uint32_t>(text.size());
    key.head = FirstBytes(text);
    if (text.size() > 8) std::memcpy(&key.tail, text.data() + text.size() - 8, 8);
    if (text.size() > 16) std::memcpy(&key.middle, text.data() + 8, 8);
    return key;
  }

  // Returns the first min(size, 8) bytes of `text` as memcpy puts them in a
  // word, zero above. Not a memcpy of variable size: GCC makes that a
  // `rep movsb`, whose start-up cost was a seventh of a line's decoding.
  static uint64_t FirstBytes(std::string_view text) {
    const char* p = text.data();
    const size_t n = text.size();
    uint64_t word = 0;
    if (n >= 8) {
      std::memcpy(&word, p, 8);
    } else if constexpr (std::endian::native == std::endian::little) {
      // Two overlapping loads; the bytes they share are equal, so OR keeps
      // each byte at its place.
      if (n >= 4) {
        uint32_t low, high;
        std::memcpy(&low, p, 4);
        std::memcpy(&high, p + n - 4, 4);
        word = low | (uint64_t{high} << (8 * (n - 4)));
      } else if (n > 0) {
        word = uint64_t{static_cast<unsigned char>(p[0])} |
               uint64_t{static_cast<unsigned char>(p[n / 2])} << (8 * (n / 2)) |
               uint64_t{static_cast<unsigned char>(p[n - 1])} << (8 * (n - 1));
      }
    } else if (n > 0) {  // an empty view may have no data pointer
      std::memcpy(&word, p, n);
    }
    return word;
  }

  // The set is taken from the top bits: a product's high bits depend on
  // every byte of its factor, its low bits only on the first bytes, which
  // the names of one stream share ("container-12", "container-345").
  static size_t SetOf(const Key& key) {
    const uint64_t hash = (key.head * 0x9E3779B97F4A7C15ULL) ^
                          (key.tail + key.size) * 0xC2B2AE3D27D4EB4FULL;
    return static_cast<size_t>(hash >> (64 - kSetBits));
  }

  struct Entry {
    uint64_t head = 0, tail = 0;
    union {
      uint64_t middle = 0;  // size <= kWholeBytes: the key's middle
      const char* data;     // longer: the table's copy of the string
    };
    uint32_t size = 0;
    Symbol symbol = kNoSymbol;

    bool Holds(const Key& key, std::string_view text) const {
      if (head != key.head || tail != key.tail || size != key.size) return false;
      if (size <= 16) return true;
      if (size <= kWholeBytes) return middle == key.middle;
      return std::memcmp(data + 8, text.data() + 8, size - 16) == 0;
    }
  };
  // Both ways of a set in one cache line.
  struct alignas(64) Set {
    Entry ways[2];
  };
  static_assert(sizeof(Set) == 64);

  const SymbolTable* table_ = nullptr;
  std::array<Set, size_t{1} << kSetBits> sets_{};
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_INTERN_CACHE_H_
