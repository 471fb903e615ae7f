// Reading pandas/numpy columns of Python objects in C++: what counts as a
// missing value, an object column read in place, a per-call cache of the
// value computed for each distinct object, and a per-input memo of the
// symbol of each distinct object.

#ifndef TIMESCAN_PYTHON_COLUMNS_H_
#define TIMESCAN_PYTHON_COLUMNS_H_

#include <Python.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "bindings.h"
#include "readers/intern_cache.h"
#include "timescan/symbol_table.h"

namespace timescan::python {

// Returns whether `item` stands for a missing value: None, a float NaN,
// pandas.NA or pandas.NaT.
inline bool IsMissing(PyObject* item) {
  if (item == Py_None) return true;
  if (PyFloat_Check(item)) return std::isnan(PyFloat_AS_DOUBLE(item));
  if (PyUnicode_Check(item) || PyBytes_Check(item) || PyLong_Check(item)) return false;
  const std::string_view type = Py_TYPE(item)->tp_name;
  return type.ends_with("NAType") || type.ends_with("NaTType");
}

// A 1-d numpy array of Python objects, read in place (copied only when not
// contiguous). The objects live as long as this does.
class ObjectColumn {
 public:
  explicit ObjectColumn(const py::array& values) {
    if (values.dtype().kind() != 'O' || values.ndim() != 1) {
      throw StatusError(absl::InvalidArgumentError("expected a 1-d numpy array of objects"));
    }
    array_ = py::array::ensure(values, py::array::c_style);
    items_ = static_cast<PyObject* const*>(array_.data());
  }
  py::ssize_t size() const { return array_.size(); }
  PyObject* operator[](py::ssize_t i) const { return items_[i]; }
  PyObject* const* data() const { return items_; }

 private:
  py::array array_;
  PyObject* const* items_ = nullptr;
};

// Remembers the value computed for recently seen objects, by address, in a
// direct-mapped table: a column that repeats a few objects (the usual case)
// computes each once. Valid only while the objects live: one per call.
template <typename T>
class ObjectCache {
 public:
  template <typename Compute>
  T Get(PyObject* object, Compute&& compute) {
    Slot& slot = slots_[(reinterpret_cast<uintptr_t>(object) >> 4) & (kSlots - 1)];
    if (slot.object != object) {
      slot.value = compute(object);
      slot.object = object;
    }
    return slot.value;
  }

 private:
  static constexpr size_t kSlots = 4096;
  struct Slot {
    PyObject* object = nullptr;
    T value{};
  };
  std::array<Slot, kSlots> slots_{};
};

// Remembers the symbol of every object met in one input's string column, by
// address, across the chunks of that input: a column repeats its objects
// (pandas keeps one str object per distinct value when it builds a column
// from categories, a dictionary or a groupby), so each distinct object is
// converted to UTF-8 and interned once, and every other row costs one probe
// of a table keyed by the address alone (the object is not read).
//
// The memo holds a reference to each object it remembers, so an address
// cannot be freed and reused for another object while it is remembered.
// It remembers at most kMaxObjects objects, and stops remembering new ones
// once more than half the rows of a stretch of kStretchRows are new objects
// (a column of one object per row, as json.loads or a list of dicts makes,
// would otherwise pay for growing it and never gain); from then on, objects
// it does not hold are converted every time, as without a memo.
//
// Symbols belong to one engine: the memo is tied to (and holds a reference
// to) the first engine that uses it. Not thread-safe; used with the GIL
// held.
class ObjectSymbols {
 public:
  static constexpr size_t kMaxObjects = size_t{1} << 18;

  ObjectSymbols() : slots_(kInitialSlots) {}
  ~ObjectSymbols() {
    for (const Slot& slot : slots_) Py_XDECREF(slot.object);
  }
  ObjectSymbols(const ObjectSymbols&) = delete;
  ObjectSymbols& operator=(const ObjectSymbols&) = delete;

  // Returns whether the memo may serve `owner` (an engine), tying it to the
  // first owner it is asked about.
  bool BindTo(py::handle owner) {
    if (!owner_) owner_ = py::reinterpret_borrow<py::object>(owner);
    return owner_.is(owner);
  }

  // Returns the symbol remembered for `object`, else compute(object),
  // remembered while there is room. compute may throw; nothing is
  // remembered then.
  template <typename Compute>
  uint32_t Get(PyObject* object, Compute&& compute) {
    size_t i = SlotOf(object);
    while (slots_[i].object != nullptr) {
      if (slots_[i].object == object) return slots_[i].symbol;
      i = (i + 1) & (slots_.size() - 1);
    }
    const uint32_t symbol = compute(object);
    if (remembering_ && size_ < kMaxObjects) {
      Py_INCREF(object);
      slots_[i] = Slot{object, symbol};
      if (++size_ * 2 > slots_.size()) Grow();
    }
    return symbol;
  }

  // Sets out[i] = Get(items[i], compute) for i in [0, n).
  template <typename Compute>
  void GetAll(PyObject* const* items, size_t n, uint32_t* out, Compute&& compute) {
    // The table's address and size in registers: stores to `out` could
    // alias them as far as the compiler knows.
    const Slot* slots = slots_.data();
    size_t mask = slots_.size() - 1;
    int bits = bits_;
    auto slot_of = [&bits](PyObject* object) {
      const uint64_t h = (reinterpret_cast<uintptr_t>(object) >> 4) * kMultiplier;
      return static_cast<size_t>(h >> (64 - bits));
    };
    size_t stretch_end = 0, size_before = 0;
    for (size_t r = 0; r < n; ++r) {
      if (r == stretch_end) {
        if (remembering_ && r > 0 && size_ >= kMinObjectsToStop &&
            (size_ - size_before) * 2 > kStretchRows) {
          remembering_ = false;  // mostly new objects: the memo does not pay
        }
        stretch_end = std::min(n, r + kStretchRows);
        size_before = size_;
      }
      // A column's rarely seen values (routes with ids) are scattered over
      // a table larger than L2: ask for the slot of a row ahead early.
      if (r + kPrefetchRows < n) __builtin_prefetch(&slots[slot_of(items[r + kPrefetchRows])]);
      PyObject* const object = items[r];
      size_t i = slot_of(object);
      while (true) {
        PyObject* const there = slots[i].object;
        if (there == object) {
          out[r] = slots[i].symbol;
          break;
        }
        if (there == nullptr) {
          out[r] = Get(object, compute);  // inserts, may grow
          slots = slots_.data();
          mask = slots_.size() - 1;
          bits = bits_;
          break;
        }
        i = (i + 1) & mask;
      }
    }
  }

  // Returns the cache for texts of objects the memo does not hold (one
  // object per row): the decoders' intern cache.
  internal::InternCache& texts() { return texts_; }

  // Returns the number of objects remembered.
  size_t size() const { return size_; }

 private:
  static constexpr size_t kInitialSlots = 256;  // a power of two
  static constexpr uint64_t kMultiplier = 0x9E3779B97F4A7C15ULL;
  static constexpr size_t kPrefetchRows = 8;
  static constexpr size_t kStretchRows = 4096;
  static constexpr size_t kMinObjectsToStop = size_t{1} << 14;
  struct Slot {
    PyObject* object = nullptr;
    uint32_t symbol = 0;
  };

  size_t SlotOf(PyObject* object) const {
    // Objects are 16-byte aligned; the product's top bits mix every bit.
    const uint64_t h = (reinterpret_cast<uintptr_t>(object) >> 4) * kMultiplier;
    return static_cast<size_t>(h >> (64 - bits_));
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    ++bits_;
    for (const Slot& slot : old) {
      if (slot.object == nullptr) continue;
      size_t i = SlotOf(slot.object);
      while (slots_[i].object != nullptr) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  int bits_ = 8;  // log2(slots_.size())
  size_t size_ = 0;
  bool remembering_ = true;
  py::object owner_;
  internal::InternCache texts_;
};

}  // namespace timescan::python

#endif  // TIMESCAN_PYTHON_COLUMNS_H_
