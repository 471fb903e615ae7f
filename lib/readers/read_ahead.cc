#include "readers/read_ahead.h"

#include <chrono>
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
// noise. (A stream that pauses has what came handed over at once.)
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

// What the decoding thread owns, shared with the reader: the thread keeps it
// alive, so a reader destroyed while the thread is blocked reading (a pipe
// with nothing to read yet) can leave without it (see ~ReadAheadReader).
struct DecodingState {
  std::unique_ptr<SymbolTable> private_symbols;
  std::unique_ptr<EventReader> inner;

  std::mutex mu;
  std::condition_variable filled;  // a batch is ready, or the thread ended
  std::condition_variable space;   // a batch was taken, or stop
  std::deque<std::unique_ptr<Batch>> ready;   // guarded by mu
  std::vector<std::unique_ptr<Batch>> spare;  // guarded by mu: used batches, for reuse
  bool stop = false;                          // guarded by mu
  bool ended = false;                         // guarded by mu: the thread is done

  // The decoding thread's loop: batches of events, errors and new names
  // until the input ends or `stop`.
  void Decode() {
    shipped_names_ = private_symbols->size();
    open_ = std::make_unique<Batch>();
    // A live stream's events go out when its writer pauses, not a batch
    // at a time (unless the caller is 8 batches behind: it has enough).
    SetBeforeWait(*inner, [this] {
      if (!open_->events.empty() || !open_->errors.empty()) (void)Ship(/*wait_for_room=*/false);
    });
    while (true) {
      Event event;
      absl::StatusOr<bool> got = inner->Next(&event);
      if (!got.ok()) {
        open_->errors.push_back(
            BatchError{open_->events.size(), std::move(got).status(), inner->stats()});
      } else if (*got) {
        open_->events.push_back(event);
      } else {
        open_->last = true;
      }
      // By records too: records that give neither event nor error (skipped
      // ones) still end a batch, so `stop` is seen every so often.
      if (!open_->last && open_->events.size() < kBatchEvents &&
          open_->errors.size() < kBatchEvents &&
          inner->stats().records - records_shipped_ < kBatchEvents) {
        continue;
      }
      const bool last = open_->last;
      if (!Ship(/*wait_for_room=*/true) || last) break;
    }
    std::lock_guard<std::mutex> lock(mu);
    ended = true;
    filled.notify_all();
  }

 private:
  // Hands the open batch to the reader and opens the next. Without
  // `wait_for_room`, keeps it open when 8 batches wait already. Returns
  // false on `stop`.
  bool Ship(bool wait_for_room) {
    for (size_t s = shipped_names_; s < private_symbols->size(); ++s) {
      open_->new_names.emplace_back(private_symbols->Name(static_cast<Symbol>(s)));
    }
    shipped_names_ = private_symbols->size();
    open_->stats = inner->stats();
    open_->format = inner->format();
    std::unique_lock<std::mutex> lock(mu);
    if (wait_for_room) {
      space.wait(lock, [&] { return stop || ready.size() < kBatchesAhead; });
    } else if (!stop && ready.size() >= kBatchesAhead) {
      return true;
    }
    if (stop) return false;
    records_shipped_ = open_->stats.records;
    ready.push_back(std::move(open_));
    filled.notify_one();
    if (!spare.empty()) {
      open_ = std::move(spare.back());
      spare.pop_back();
    }
    lock.unlock();
    if (open_ == nullptr) open_ = std::make_unique<Batch>();
    open_->Clear();
    return true;
  }

  // The decoding thread's.
  std::unique_ptr<Batch> open_;   // being filled
  size_t shipped_names_ = 0;      // private symbols whose names went out
  uint64_t records_shipped_ = 0;  // records read when the last batch went out
};

class ReadAheadReader final : public EventReader {
 public:
  ReadAheadReader(std::shared_ptr<DecodingState> state, SymbolTable& symbols)
      : state_(std::move(state)), symbols_(symbols), translated_(1, kNoSymbol) {
    worker_ = std::thread([state = state_] { state->Decode(); });
  }

  ~ReadAheadReader() override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->stop = true;
    state_->space.notify_all();
    // A thread waiting for room stops at once; one blocked in a read stops
    // when the read returns. The reader does not wait for that: the thread
    // owns the state it uses and frees it when it ends.
    const bool ended = state_->filled.wait_for(lock, kJoinWait, [&] { return state_->ended; });
    lock.unlock();
    if (ended) {
      worker_.join();
    } else {
      worker_.detach();
    }
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
  // How long a destroyed reader waits for its thread before leaving it.
  static constexpr std::chrono::milliseconds kJoinWait{200};

  void TakeBatch() {
    {
      std::unique_lock<std::mutex> lock(state_->mu);
      state_->filled.wait(lock, [&] { return !state_->ready.empty(); });
      current_ = std::move(state_->ready.front());
      state_->ready.pop_front();
    }
    state_->space.notify_one();
    // Interned in the order the plain reader would have: the symbols come
    // out the same.
    for (const std::string& name : current_->new_names) translated_.push_back(symbols_.Intern(name));
    // Detected at the first record and fixed from then on.
    format_ = current_->format;
    next_event_ = 0;
    next_error_ = 0;
  }

  void GiveBack() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->spare.push_back(std::move(current_));
  }

  std::shared_ptr<DecodingState> state_;
  SymbolTable& symbols_;
  std::vector<Symbol> translated_;  // private symbol -> caller's symbol
  std::unique_ptr<Batch> current_;
  size_t next_event_ = 0;
  size_t next_error_ = 0;
  bool finished_ = false;
  ReaderStats stats_;
  Format format_ = Format::kAuto;
  std::thread worker_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventReader>> OpenReadAhead(
    const std::function<absl::StatusOr<std::unique_ptr<EventReader>>(SymbolTable&)>& open,
    SymbolTable& symbols) {
  auto state = std::make_shared<DecodingState>();
  state->private_symbols = std::make_unique<SymbolTable>();
  absl::StatusOr<std::unique_ptr<EventReader>> inner = open(*state->private_symbols);
  if (!inner.ok()) return inner.status();
  state->inner = std::move(*inner);
  return std::unique_ptr<EventReader>(new ReadAheadReader(std::move(state), symbols));
}

}  // namespace timescan::internal
