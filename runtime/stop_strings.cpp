// runtime/stop_strings.cpp - see stop_strings.h.
#include "runtime/stop_strings.h"

#include <algorithm>

namespace gpt2c {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) {
    for (std::string& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

std::string StopStringFilter::push(std::string_view piece) {
    if (stopped_) return {};
    pending_.append(piece);
    // The earliest complete stop string wins (the longest one when two start at the same byte).
    size_t cut = std::string::npos;
    for (const std::string& s : stops_) {
        const size_t at = pending_.find(s);
        if (at != std::string::npos && (at < cut || (at == cut && s.size() > matched_.size()))) {
            cut = at;
            matched_ = s;
        }
    }
    if (cut != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, cut);
        pending_.clear();
        return out;
    }
    // Hold back the longest suffix of pending_ that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const std::string& s : stops_)
        for (size_t n = std::min(s.size() - 1, pending_.size()); n > keep; --n)
            if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
                keep = n;
                break;
            }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
}

std::string StopStringFilter::flush() {
    std::string out;
    if (!stopped_) out.swap(pending_);
    return out;
}

}  // namespace gpt2c
