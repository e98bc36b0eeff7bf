// Spellings of the intervention kinds, in flags and reports.
#include "model/intervention.hpp"

#include "engine/enum_names.hpp"

namespace fbnet {
namespace {

constexpr EnumName<InterventionKind> kInterventionNames[] = {{InterventionKind::kNone, "none"},
                                                             {InterventionKind::kOff, "off"},
                                                             {InterventionKind::kMean, "mean"},
                                                             {InterventionKind::kSwap, "swap"}};

}  // namespace

const char* to_string(InterventionKind kind) { return enum_name(kInterventionNames, kind); }
InterventionKind parse_intervention_kind(const std::string& text, const std::string& what) {
  return parse_enum(kInterventionNames, what, text);
}

}  // namespace fbnet
