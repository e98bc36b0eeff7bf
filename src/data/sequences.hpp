// Sequence sets of experiment 2 (NOTES.md, "Sequences"): K allowed sequences
// of classes (words for a letter dataset, random fixed sequences otherwise),
// and samples that follow them: sample i takes allowed sequence i mod K and,
// at each position, a random image of that position's class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fbnet {

// The random streams of sequences (engine/random.hpp lists every stream).
inline constexpr uint64_t kAllowedSequenceStream = 6;     // which K sequences are allowed
inline constexpr uint64_t kTrainSequenceStream = 7;       // which training image fills each position of sample i
inline constexpr uint64_t kTestSequenceStream = 9;        // the same for test samples
inline constexpr uint64_t kValidationSequenceStream = 10;  // the same for validation samples (held-out training images)

struct AllowedSequences {
  std::vector<std::vector<int>> classes;  // [K][length]
  std::vector<std::string> names;         // the words, or the classes joined by '-'
  int64_t count() const { return static_cast<int64_t>(classes.size()); }
  int length() const { return classes.empty() ? 0 : static_cast<int>(classes.front().size()); }
};

// What to do with a word that uses a letter the dataset has no images of.
enum class MissingLetters { kRefuse, kFilter };

// Whether each class 0..classes-1 occurs in `labels`.
std::vector<bool> classes_present(const std::vector<int32_t>& labels, int classes);

// `count` words drawn uniformly with replacement (seeded) from `words` (letters
// a..z as classes 0..25). A word using a class that `present` lacks is refused
// (fbnet::Error naming the word, the letter and `words_source`) or dropped.
AllowedSequences draw_word_sequences(const std::vector<std::string>& words, int64_t count, uint64_t seed,
                                     const std::vector<bool>& present, MissingLetters missing,
                                     const std::string& words_source);

// `count` sequences of `length` classes, each drawn uniformly from `present`.
AllowedSequences draw_random_sequences(int64_t count, int length, uint64_t seed, const std::vector<bool>& present);

struct SequenceSamples {
  int length = 0;
  std::vector<int64_t> image_index;  // [count * length]: the image at each position
  std::vector<int32_t> labels;       // [count * length]: its class
  int64_t count() const { return length == 0 ? 0 : static_cast<int64_t>(labels.size()) / length; }
};

// `count` samples over a set of images with labels `image_labels`: sample i
// follows allowed sequence i mod K, and position p takes an image of its class
// drawn uniformly from the stream Rng(seed, stream, i), so a sample does not
// depend on how many others there are. Throws when a class has no image.
SequenceSamples sample_sequences(const AllowedSequences& allowed, const std::vector<int32_t>& image_labels,
                                 int64_t count, uint64_t seed, uint64_t stream);

}  // namespace fbnet
