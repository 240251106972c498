// The δ what-if made real: a δ′ chosen in the inspector's fan becomes δ from the next
// iteration, as a hot change through the hyperparameter panel (the same path as typing it)
// and as one command on its undo stack, so Edit → Undo (Ctrl+Z) puts the previous δ back,
// again as a hot change. Both directions are marked for the plots: the config-change marker
// reads "δ 0.01 → 0.03 (what-if)", and after Undo "δ 0.03 → 0.01 (what-if undone)".
#pragma once

#include <QString>

namespace ui {

class HyperparameterPanel;
class RunHistory;

// pushes the change when δ′ is valid and differs from the panel's δ; otherwise returns
// false with the reason in *why (empty when δ′ is simply the current δ)
bool applyWhatIfDelta(HyperparameterPanel* panel, RunHistory* history, double deltaPrime, QString* why = nullptr);

} // namespace ui
