// Deterministic random numbers and math for the simulator.
//
// The same seed must give the same events on every platform, so nothing here
// depends on implementation-defined behaviour: std::mt19937_64's output
// sequence is fixed by the standard, and the distributions and the log, exp
// and cos below use only IEEE-754 basic operations (+ - * / sqrt) and
// exponent bit manipulation, all exactly specified.
//
// Every function that adds a product is defined out of line in random.cc,
// which (like all of lib/sim) is compiled with -ffp-contract=off: a build
// with FMA instructions (-march=x86-64-v3, ARM) must not fuse a multiply-add
// and round differently. Inline here is only what cannot be fused.

#ifndef TIMESCAN_LIB_SIM_RANDOM_H_
#define TIMESCAN_LIB_SIM_RANDOM_H_

#include <cstdint>
#include <random>

namespace timescan::sim_internal {

// Returns splitmix64 of `x`: a bijective 64-bit mixer, for deriving seeds and
// ids from (seed, salt) pairs.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Returns a 64-bit value derived from `a` and `b`; different pairs give
// unrelated values.
inline uint64_t Mix64(uint64_t a, uint64_t b) {
  return Mix64(Mix64(a) ^ (b * 0xD6E8FEB86659FD93ULL));
}

inline constexpr double kLn2 = 0.69314718055994530942;
inline constexpr double kTwoPi = 6.28318530717958647692;

// Returns floor(y) as an integer, without a libm call (x86-64's baseline has
// no rounding instruction). REQUIRES: |y| < 2^62.
inline int64_t FloorToInt(double y) {
  const auto i = static_cast<int64_t>(y);  // truncates toward zero: exact
  return i - (y < static_cast<double>(i) ? 1 : 0);
}

// Returns the natural logarithm of `x` by table and polynomial; error below
// 1e-15 * max(1, |log x|). REQUIRES: x > 0 and finite.
double Log(double x);

// Returns the natural logarithm of `x` by a series: error below 1e-15 *
// max(1, |log x|), slow. Builds the tables of Log. REQUIRES: x > 0, finite.
double LogSeries(double x);

// Returns e^x. Relative error below 2e-15; 0 below -708, +inf above 709.78.
double Exp(double x);

// Returns e^x for |x| <= 1 by a series: relative error below 1e-16, slow.
double ExpSeries(double x);

// Returns cos(2 pi turns). Absolute error below 1e-15.
double CosTurns(double turns);

// Rounds `x` (>= 0) to the nearest multiple of 1/`scale` (scale 1: an
// integer; 1000: thousandths), computed as an integer divided by `scale`, so
// that the value prints exactly with few digits and reads back the same.
double Quantize(double x, double scale);

// A seeded generator with the distributions the simulator needs.
// Not thread-safe.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Returns 64 uniformly random bits.
  uint64_t Bits() { return engine_(); }

  // Returns a uniform double in [0, 1) with 53 random bits (exact: an
  // integer times a power of two).
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Returns a uniform integer in [0, n) (multiply-shift; bias below n/2^64).
  // REQUIRES: n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }

  // Returns a uniform integer in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Returns an exponential variate with mean 1.
  double Exponential();

  // Returns a standard normal variate (Marsaglia's polar method, which
  // needs only log and sqrt; the second variate of each pair is kept).
  double Normal();

  // Returns a log-normal variate with median `median` and log-scale sd `sigma`.
  double LogNormal(double median, double sigma);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace timescan::sim_internal

#endif  // TIMESCAN_LIB_SIM_RANDOM_H_
