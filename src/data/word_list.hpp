// Word lists for experiment 2: the allowed sequences of a letter dataset are
// words, read from a file of one word per line (Debian's wamerican by default).
#pragma once

#include <string>
#include <vector>

namespace fbnet {

inline constexpr const char* kDefaultWordList = "/usr/share/dict/words";

// The words of exactly `length` lowercase ASCII letters in `path`, in file
// order; other lines (proper nouns, possessives, other lengths) are skipped.
// Throws fbnet::Error naming the file when it is unreadable or has none.
std::vector<std::string> read_words(const std::string& path, int length);

// 'a' -> 0 .. 'z' -> 25, the EMNIST letters classes.
std::vector<int> word_classes(const std::string& word);

}  // namespace fbnet
