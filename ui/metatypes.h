// The value types that cross from the training thread to the UI thread in queued signals.
#pragma once

#include <QMetaType>
#include <memory>
#include <vector>

#include "core/config.h"
#include "core/snapshot.h"
#include "core/stats.h"
#include "core/trainer.h"
#include "core/trust_region.h"
#include "ui/run_file.h"

namespace ui {
// a trust-region probe as the worker computed it: immutable, safe to keep on any thread
using ProbePtr = std::shared_ptr<const core::TrustRegionProbe>;
// the phase the training worker is about to run (TrainingSession::phaseStarted)
struct RunningPhase {
    int iteration = 0; // 1-based: the iteration the phase belongs to
    core::Phase phase = core::Phase::Sample;
};
} // namespace ui

Q_DECLARE_METATYPE(core::IterationStats)
Q_DECLARE_METATYPE(core::SnapshotPtr)
Q_DECLARE_METATYPE(core::ConfigEvent)
Q_DECLARE_METATYPE(std::vector<core::ConfigEvent>)
Q_DECLARE_METATYPE(core::TrpoConfig)
Q_DECLARE_METATYPE(ui::RunStatePtr)
Q_DECLARE_METATYPE(ui::ProbePtr)
Q_DECLARE_METATYPE(ui::RunningPhase)
Q_DECLARE_METATYPE(core::IterationEpisodes)

namespace ui {

// registers the types above with Qt's meta-type system; idempotent
inline void registerMetaTypes() {
    qRegisterMetaType<core::IterationStats>();
    qRegisterMetaType<core::SnapshotPtr>();
    qRegisterMetaType<core::ConfigEvent>();
    qRegisterMetaType<std::vector<core::ConfigEvent>>();
    qRegisterMetaType<core::TrpoConfig>();
    qRegisterMetaType<ui::RunStatePtr>();
    qRegisterMetaType<ui::ProbePtr>();
    qRegisterMetaType<ui::RunningPhase>();
    qRegisterMetaType<core::IterationEpisodes>();
}

} // namespace ui
