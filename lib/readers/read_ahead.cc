#include "readers/read_ahead.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace timescan::internal {
namespace {

// Events a batch: large enough that the hand-over (a lock, a wake-up) is
// noise, small enough that a slow stream's events are not held long.
constexpr size_t kBatchEvents = 1024;
// Batches decoded ahead of the caller: enough to ride out a slow window
// close, few enough that memory stays a few hundred KiB.
constexpr size_t kBatchesAhead = 8;

// A bad record: where it came in the batch, and the inner reader's stats
// just after it (a caller stopping at its first error reads them).
struct BatchError {
  size_t before_event;  // the error came before events[before_event]
  absl::Status status;
  ReaderStats stats;
};

// What the decoding thread read since the batch before, in input order.
struct Batch {
  std::vector<Event> events;  // symbols of the private table
  std::vector<BatchError> errors;
  std::vector<std::string> new_names;  // the private table's new symbols, in order
  ReaderStats stats;                   // the inner reader's, after this batch
  Format format = Format::kAuto;
  bool last = false;  // the inner reader reached the end of its input

  void Clear() {
    events.clear();
    errors.clear();
    new_names.clear();
    last = false;
  }
};

class ReadAheadReader final : public EventReader {
 public:
  ReadAheadReader(std::unique_ptr<SymbolTable> private_symbols, std::unique_ptr<EventReader> inner,
                  SymbolTable& symbols)
      : private_symbols_(std::move(private_symbols)),
        inner_(std::move(inner)),
        symbols_(symbols),
        translated_(1, kNoSymbol) {
    worker_ = std::thread([this] { Decode(); });
  }

  ~ReadAheadReader() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    worker_.join();
  }

  absl::StatusOr<bool> Next(Event* event) override {
    while (true) {
      if (current_ == nullptr) {
        if (finished_) return false;
        TakeBatch();
      }
      const Batch& b = *current_;
      if (next_error_ < b.errors.size() && b.errors[next_error_].before_event == next_event_) {
        const BatchError& error = b.errors[next_error_++];
        stats_ = error.stats;
        return error.status;
      }
      if (next_event_ < b.events.size()) {
        const Event& e = b.events[next_event_++];
        *event = e;
        event->entity = translated_[e.entity];
        event->group = translated_[e.group];
        event->subject = translated_[e.subject];
        event->actor = translated_[e.actor];
        return true;
      }
      // The batch is used up: its stats are those of everything returned.
      stats_ = b.stats;
      finished_ = b.last;
      GiveBack();
    }
  }

  Format format() const override { return format_; }
  // Updated batch by batch and at each error: the plain reader's at the end
  // of the input and just after an error.
  const ReaderStats& stats() const override { return stats_; }

 private:
  // The decoding thread.
  void Decode() {
    size_t shipped = private_symbols_->size();
    std::unique_ptr<Batch> b = std::make_unique<Batch>();
    while (true) {
      Event event;
      absl::StatusOr<bool> got = inner_->Next(&event);
      if (!got.ok()) {
        b->errors.push_back(BatchError{b->events.size(), std::move(got).status(), inner_->stats()});
      } else if (*got) {
        b->events.push_back(event);
      } else {
        b->last = true;
      }
      if (!b->last && b->events.size() < kBatchEvents && b->errors.size() < kBatchEvents) continue;
      for (size_t s = shipped; s < private_symbols_->size(); ++s) {
        b->new_names.emplace_back(private_symbols_->Name(static_cast<Symbol>(s)));
      }
      shipped = private_symbols_->size();
      b->stats = inner_->stats();
      b->format = inner_->format();
      const bool last = b->last;
      std::unique_lock<std::mutex> lock(mu_);
      space_.wait(lock, [&] { return stop_ || ready_.size() < kBatchesAhead; });
      if (stop_) return;
      ready_.push_back(std::move(b));
      filled_.notify_one();
      if (last) return;
      if (!spare_.empty()) {
        b = std::move(spare_.back());
        spare_.pop_back();
      }
      lock.unlock();
      if (b == nullptr) b = std::make_unique<Batch>();
      b->Clear();
    }
  }

  void TakeBatch() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      filled_.wait(lock, [&] { return !ready_.empty(); });
      current_ = std::move(ready_.front());
      ready_.pop_front();
    }
    space_.notify_one();
    // Interned in the order the plain reader would have: the symbols come
    // out the same.
    for (const std::string& name : current_->new_names) translated_.push_back(symbols_.Intern(name));
    // Detected at the first record and fixed from then on.
    format_ = current_->format;
    next_event_ = 0;
    next_error_ = 0;
  }

  void GiveBack() {
    std::lock_guard<std::mutex> lock(mu_);
    spare_.push_back(std::move(current_));
  }

  // Decoding thread only (after construction).
  std::unique_ptr<SymbolTable> private_symbols_;
  std::unique_ptr<EventReader> inner_;

  // Caller's thread only.
  SymbolTable& symbols_;
  std::vector<Symbol> translated_;  // private symbol -> caller's symbol
  std::unique_ptr<Batch> current_;
  size_t next_event_ = 0;
  size_t next_error_ = 0;
  bool finished_ = false;
  ReaderStats stats_;
  Format format_ = Format::kAuto;

  std::mutex mu_;
  std::condition_variable filled_;  // a batch is ready
  std::condition_variable space_;   // a batch was taken, or stop
  std::deque<std::unique_ptr<Batch>> ready_;   // guarded by mu_
  std::vector<std::unique_ptr<Batch>> spare_;  // guarded by mu_: used batches, for reuse
  bool stop_ = false;                          // guarded by mu_
  std::thread worker_;  // last: started once everything above exists
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventReader>> OpenReadAhead(
    const std::function<absl::StatusOr<std::unique_ptr<EventReader>>(SymbolTable&)>& open,
    SymbolTable& symbols) {
  auto private_symbols = std::make_unique<SymbolTable>();
  absl::StatusOr<std::unique_ptr<EventReader>> inner = open(*private_symbols);
  if (!inner.ok()) return inner.status();
  return std::unique_ptr<EventReader>(
      new ReadAheadReader(std::move(private_symbols), std::move(*inner), symbols));
}

}  // namespace timescan::internal
