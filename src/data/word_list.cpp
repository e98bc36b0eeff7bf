// Reading and filtering a word list.
#include "data/word_list.hpp"

#include <algorithm>
#include <fstream>

#include "engine/error.hpp"

namespace fbnet {

std::vector<std::string> read_words(const std::string& path, int length) {
  FBNET_CHECK(length > 0, "read_words: length must be positive, got {}", length);
  std::ifstream in(path);
  FBNET_CHECK_FIELD(in.good(), "data", "words", "cannot read word list {} (Debian's wamerican package installs {})", path,
              kDefaultWordList);
  std::vector<std::string> words;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (static_cast<int>(line.size()) == length &&
        std::all_of(line.begin(), line.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      words.push_back(line);
  }
  FBNET_CHECK_FIELD(in.eof(), "data", "words", "error reading {}", path);
  FBNET_CHECK_FIELD(!words.empty(), "data", "words", "{} has no word of {} lowercase letters a-z", path, length);
  return words;
}

std::vector<int> word_classes(const std::string& word) {
  std::vector<int> classes;
  for (char c : word) {
    FBNET_CHECK(c >= 'a' && c <= 'z', "word '{}': '{}' is not a lowercase letter a-z", word, c);
    classes.push_back(c - 'a');
  }
  return classes;
}

}  // namespace fbnet
