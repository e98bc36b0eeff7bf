// Drawing allowed sequences and sampling images along them.
#include "data/sequences.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/word_list.hpp"
#include "engine/error.hpp"
#include "engine/random.hpp"

namespace fbnet {

std::vector<bool> classes_present(const std::vector<int32_t>& labels, int classes) {
  std::vector<bool> present(classes, false);
  for (int32_t label : labels) {
    FBNET_CHECK(label >= 0 && label < classes, "classes_present: label {} outside 0..{}", label, classes - 1);
    present[label] = true;
  }
  return present;
}

AllowedSequences draw_word_sequences(const std::vector<std::string>& words, int64_t count, uint64_t seed,
                                     const std::vector<bool>& present, MissingLetters missing,
                                     const std::string& words_source) {
  FBNET_CHECK_FIELD(count > 0, "sequences", "allowed", "must be positive, got {}", count);
  std::vector<std::string> usable;
  for (const std::string& word : words) {
    bool usable_word = true;
    for (int letter : word_classes(word)) {
      if (letter < static_cast<int>(present.size()) && present[letter]) continue;
      FBNET_CHECK_FIELD(missing == MissingLetters::kFilter, "sequences", "words",
                  "word '{}' in {} uses the letter '{}', of which the dataset has no images; pass "
                  "--missing-letters filter to drop such words",
                  word, words_source, static_cast<char>('a' + letter));
      usable_word = false;
      break;
    }
    if (usable_word) usable.push_back(word);
  }
  FBNET_CHECK_FIELD(!usable.empty(), "sequences", "words", "no word in {} uses only letters the dataset has images of", words_source);
  Rng rng(seed, kAllowedSequenceStream);
  AllowedSequences allowed;
  for (int64_t k = 0; k < count; ++k) {
    const std::string& word = usable[rng.below(usable.size())];
    allowed.classes.push_back(word_classes(word));
    allowed.names.push_back(word);
  }
  return allowed;
}

AllowedSequences draw_random_sequences(int64_t count, int length, uint64_t seed, const std::vector<bool>& present) {
  FBNET_CHECK_FIELD(count > 0, "sequences", "allowed", "must be positive, got {}", count);
  FBNET_CHECK_FIELD(length > 0, "sequences", "length", "must be positive, got {}", length);
  std::vector<int> classes;
  for (size_t c = 0; c < present.size(); ++c)
    if (present[c]) classes.push_back(static_cast<int>(c));
  FBNET_CHECK(!classes.empty(), "draw_random_sequences: the dataset has no class with images");
  // A stream of its own, apart from the word draw of the same seed.
  Rng rng(seed, kAllowedSequenceStream, 1);
  AllowedSequences allowed;
  for (int64_t k = 0; k < count; ++k) {
    std::vector<int> sequence;
    for (int p = 0; p < length; ++p) sequence.push_back(classes[rng.below(classes.size())]);
    allowed.names.push_back(fmt::format("{}", fmt::join(sequence, "-")));
    allowed.classes.push_back(std::move(sequence));
  }
  return allowed;
}

SequenceSamples sample_sequences(const AllowedSequences& allowed, const std::vector<int32_t>& image_labels,
                                 int64_t count, uint64_t seed, uint64_t stream) {
  FBNET_CHECK(allowed.count() > 0, "sample_sequences: no allowed sequences");
  FBNET_CHECK(count >= 0, "sample_sequences: count must be >= 0, got {}", count);
  std::vector<std::vector<int64_t>> images_of;  // class -> image indices
  for (size_t i = 0; i < image_labels.size(); ++i) {
    const int32_t label = image_labels[i];
    if (label >= static_cast<int32_t>(images_of.size())) images_of.resize(label + 1);
    images_of[label].push_back(static_cast<int64_t>(i));
  }
  SequenceSamples samples;
  samples.length = allowed.length();
  samples.image_index.reserve(count * samples.length);
  samples.labels.reserve(count * samples.length);
  for (int64_t i = 0; i < count; ++i) {
    Rng rng(seed, stream, static_cast<uint64_t>(i));
    const std::vector<int>& sequence = allowed.classes[i % allowed.count()];
    for (int label : sequence) {
      FBNET_CHECK(label < static_cast<int>(images_of.size()) && !images_of[label].empty(),
                  "sample_sequences: class {} has no image to draw from", label);
      const std::vector<int64_t>& candidates = images_of[label];
      samples.image_index.push_back(candidates[rng.below(candidates.size())]);
      samples.labels.push_back(label);
    }
  }
  return samples;
}

}  // namespace fbnet
