#include "green/linkable.hpp"

#include <mutex>
#include <stdexcept>

namespace green {

void Linkable::link(LinkNode& node) {
  std::lock_guard guard(lock_);
  link_locked(node);
}

bool Linkable::link_unless_ready(LinkNode& node) {
  std::lock_guard guard(lock_);
  if (ready()) return false;
  link_locked(node);
  return true;
}

void Linkable::unlink(LinkNode& node) noexcept {
  if (node.owner_.load(std::memory_order_acquire) != this) return;
  std::lock_guard guard(lock_);
  unlink_locked(node);
}

bool Linkable::has_links() const noexcept {
  std::lock_guard guard(lock_);
  return head_ != nullptr;
}

void Linkable::link_locked(LinkNode& node) {
  if (node.owner_.load(std::memory_order_relaxed) != nullptr)
    throw std::logic_error("green::Linkable::link: the node is already linked");
  node.prev_ = tail_;
  node.next_ = nullptr;
  if (tail_ != nullptr)
    tail_->next_ = &node;
  else
    head_ = &node;
  tail_ = &node;
  node.queued_ = true;
  node.owner_.store(this, std::memory_order_release);
}

void Linkable::remove_locked(LinkNode& node) noexcept {
  if (node.prev_ != nullptr)
    node.prev_->next_ = node.next_;
  else
    head_ = node.next_;
  if (node.next_ != nullptr)
    node.next_->prev_ = node.prev_;
  else
    tail_ = node.prev_;
  node.prev_ = node.next_ = nullptr;
  node.queued_ = false;
}

void Linkable::unlink_locked(LinkNode& node) noexcept {
  if (node.owner_.load(std::memory_order_relaxed) != this) return;
  if (node.queued_) remove_locked(node);
  node.owner_.store(nullptr, std::memory_order_release);
}

LinkNode* Linkable::detach_front_locked() noexcept {
  LinkNode* node = head_;
  if (node != nullptr) remove_locked(*node);
  return node;
}

bool Linkable::notify_node_locked(LinkNode& node, int reason) noexcept {
  const bool took = node.notify(reason);
  node.owner_.store(nullptr, std::memory_order_release);  // from here its owner may destroy it
  return took;
}

bool Linkable::notify_one_locked(int reason) noexcept {
  while (LinkNode* node = detach_front_locked())
    if (notify_node_locked(*node, reason)) return true;
  return false;
}

std::size_t Linkable::notify_all_locked(int reason) noexcept {
  std::size_t accepted = 0;
  // Only the nodes linked now: a node linked by a notify() callback waits for the next round.
  LinkNode* last = tail_;
  while (LinkNode* node = detach_front_locked()) {
    accepted += notify_node_locked(*node, reason) ? 1 : 0;
    if (node == last) break;
  }
  return accepted;
}

}  // namespace green
