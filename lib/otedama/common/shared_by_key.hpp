// One object per key (an Ethash epoch's light cache or DAG, a KawPow epoch ...), built once however many
// threads ask at the same time and shared while someone holds it: the registry keeps only weak references,
// so the object goes with its last user.
//
// Thread safety: get() may be called from any thread. The first caller for a key builds under that key's own
// lock (other keys are not held up); concurrent callers for the same key wait and share the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace otedama::common {

template <class T, class Key = uint64_t>
class SharedByKey {
public:
    /// The live object of `key`, or the one `build()` makes (a std::shared_ptr<const T>). `reused` says which.
    template <class Build>
    std::shared_ptr<const T> get(const Key& key, Build&& build, bool& reused) {
        std::shared_ptr<Slot> slot;
        {
            std::lock_guard lock(mu_);
            // Forget keys nobody holds and nobody is building (only the map references the slot).
            for (auto it = slots_.begin(); it != slots_.end();) {
                if (it->first != key && it->second.use_count() == 1 && it->second->value.expired()) {
                    it = slots_.erase(it);
                } else {
                    ++it;
                }
            }
            auto& s = slots_[key];
            if (!s) s = std::make_shared<Slot>();
            slot = s;
        }
        std::lock_guard lock(slot->mu);
        if (auto live = slot->value.lock()) {
            reused = true;
            return live;
        }
        reused = false;
        std::shared_ptr<const T> made = build();
        slot->value = made;
        return made;
    }

    /// Keys whose object is alive now (for status lines).
    [[nodiscard]] std::size_t live() const {
        std::lock_guard lock(mu_);
        std::size_t n = 0;
        for (const auto& [key, slot] : slots_) {
            std::unique_lock slot_lock(slot->mu, std::try_to_lock);  // a key being built counts as alive
            if (!slot_lock.owns_lock() || !slot->value.expired()) ++n;
        }
        return n;
    }

private:
    struct Slot {
        std::mutex mu;
        std::weak_ptr<const T> value;
    };
    mutable std::mutex mu_;
    std::map<Key, std::shared_ptr<Slot>> slots_;
};

}  // namespace otedama::common
