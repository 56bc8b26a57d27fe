// Mutation fuzzing of the plugin's decoders of the node's answers, built with AddressSanitizer
// and UndefinedBehaviorSanitizer (make -C iptf/cpp fuzz-bin; `make fuzz` runs it).
//
// The inputs are the golden answers of iptf/go/protocol/testdata/, mutated: bits flipped,
// bytes replaced, ranges cut or repeated, JSON tokens put in (huge and negative numbers, nulls,
// deep nesting, bad escapes), pieces of other answers spliced in. Every decoder gets every
// input. Whatever the bytes, a decoder returns OK or a Status (no crash, no exception, no
// sanitizer report), and a file map it accepts tiles its file, as the reader relies on.
//
//   protocol_fuzz FIXTURE_DIR SECONDS [SEED]

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "protocol.h"

namespace {

using iptf::Status;
namespace protocol = iptf::protocol;

// Each decoder, with what must hold of what it accepts.
const std::vector<std::function<void(const std::string&)>>& Decoders() {
  static const std::vector<std::function<void(const std::string&)>> decoders = {
      [](const std::string& b) {
        iptf::FileMap m;
        if (!protocol::DecodeFileMap("iptf/open", b, &m).ok() || m.has_inline) return;
        uint64_t end = 0;
        for (const iptf::Span& sp : m.spans) {
          if (sp.offset != end) std::abort();  // a gap or an overlap got through
          end += sp.length;
        }
        if (end != m.size) std::abort();
      },
      [](const std::string& b) {
        iptf::PathInfo info;
        (void)protocol::DecodeStat("iptf/stat", b, &info);
      },
      [](const std::string& b) {
        std::vector<iptf::DirEntry> entries;
        (void)protocol::DecodeListing("iptf/ls", b, &entries);
      },
      [](const std::string& b) {
        std::vector<std::string> matches;
        (void)protocol::DecodeMatches("iptf/glob", b, &matches);
      },
      [](const std::string& b) {
        iptf::Written w;
        (void)protocol::DecodeWritten("iptf/write", b, &w);
      },
      [](const std::string& b) {
        iptf::Staged st;
        (void)protocol::DecodeStaged("iptf/stage", b, &st);
      },
      [](const std::string& b) {
        iptf::NodeStatus st;
        (void)protocol::DecodeStatus("iptf/status", b, &st);
      },
  };
  return decoders;
}

const char* const kTokens[] = {
    "-1", "0", "1e309", "-1e309", "18446744073709551615", "18446744073709551616", "-9223372036854775809",
    "0.5", "null", "true", "false", "\"\"", "{}", "[]", "\"\\ud800\"", "\"\\u0000\"", "\"\\x\"", "\"file\"",
    "\"directory\"", ",", ":", "\"", "{", "}", "[", "]", "\xff\xfe", "\"Spans\":[{}]",
};

const char kBytes[] = "{}[]\":,0123456789-.e\\ nul\xff";

class Mutator {
 public:
  Mutator(std::vector<std::string> corpus, uint64_t seed) : corpus_(std::move(corpus)), rng_(seed) {}

  std::string Next() {
    std::string s = corpus_[Below(corpus_.size())];
    for (size_t n = 1 + Below(4); n > 0; --n) Mutate(&s);
    return s;
  }

 private:
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  void Mutate(std::string* s) {
    const size_t at = Below(s->size() + 1);
    switch (Below(7)) {
      case 0:  // flip a bit
        if (!s->empty()) (*s)[Below(s->size())] ^= static_cast<char>(1u << Below(8));
        break;
      case 1:  // a byte replaced by one JSON cares about, or any
        if (!s->empty()) (*s)[Below(s->size())] = kBytes[Below(sizeof(kBytes) - 1)];
        break;
      case 2:  // a range cut out
        s->erase(at, Below(s->size() - at + 1));
        break;
      case 3: {  // a range repeated
        const size_t len = Below(s->size() - at + 1);
        s->insert(at, s->substr(at, len));
        break;
      }
      case 4:  // a token put in
        s->insert(at, kTokens[Below(sizeof(kTokens) / sizeof(kTokens[0]))]);
        break;
      case 5: {  // deep nesting
        const size_t depth = 1 + Below(1000);
        s->insert(at, std::string(depth, '[') + std::string(depth, ']'));
        break;
      }
      default: {  // a piece of another answer spliced in
        const std::string& other = corpus_[Below(corpus_.size())];
        const size_t from = Below(other.size() + 1);
        s->insert(at, other.substr(from, Below(other.size() - from + 1)));
      }
    }
  }

  std::vector<std::string> corpus_;
  std::mt19937_64 rng_;
};

std::vector<std::string> LoadCorpus(const std::filesystem::path& dir) {
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    corpus.push_back(body.str());
  }
  return corpus;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FIXTURE_DIR SECONDS [SEED]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> corpus = LoadCorpus(argv[1]);
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no .json answers to start from\n", argv[1]);
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10)
                                 : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  // Printed first: the same seed replays the same inputs, should one fail.
  std::printf("protocol_fuzz: seed %llu, %zu answers, %.0f s\n", static_cast<unsigned long long>(seed),
              corpus.size(), seconds);
  std::fflush(stdout);

  for (const std::string& answer : corpus)
    for (const auto& decode : Decoders()) decode(answer);
  Mutator mutator(std::move(corpus), seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t inputs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 64; ++i, ++inputs) {
      const std::string input = mutator.Next();
      for (const auto& decode : Decoders()) decode(input);
    }
  }
  std::printf("protocol_fuzz: %llu inputs, each through %zu decoders: no crash\n",
              static_cast<unsigned long long>(inputs), Decoders().size());
  return 0;
}
