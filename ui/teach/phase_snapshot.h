// PhaseSnapshot: what phase stepping shows of one phase of an iteration (docs/algorithm.md
// §1-7): its equation with the current numbers put in, and the data of its own picture.
// Built on the training thread from the trainer's PhaseResult (makePhaseSnapshot), then
// handed to the UI as an immutable value; it holds no pointer into the trainer.
#pragma once

#include <QColor>
#include <QMetaType>
#include <QString>
#include <memory>
#include <vector>

#include "core/trainer.h"

namespace ui {

struct PhaseSnapshot {
    core::Phase phase = core::Phase::Sample;
    int iteration = 0;   // the iteration the phase belongs to (1-based)
    int index = 0;       // its position among the phases shown (1 … 7)
    QString title;       // "3 / 7 · Surrogate gradient"
    QString equation;    // rich text: the equation, then the same with this iteration's numbers
    QString reading;     // one sentence: what to look at

    // the picture, by phase
    // Sample: the finished episodes' returns; Value fit: the critic's loss per epoch
    std::vector<double> values;
    // Advantages: two observation dimensions of the batch's states, coloured by advantage
    QString xLabel, yLabel;
    std::vector<double> xs, ys, advantages;
    // the same states' whole raw observations (stateDim numbers each), for the viewer
    int stateDim = 0;
    std::vector<double> states;
    // Natural direction: |r| after each CG iteration (|g| first)
    std::vector<double> residuals;
    // Surrogate gradient / natural direction: |g|, |x|, the angle between them (degrees)
    double gradNorm = 0, directionNorm = 0, angleDegrees = 0;
    // Line search: the trials
    std::vector<core::LineSearchTrial> trials;
    double delta = 0;
};
using PhaseSnapshotPtr = std::shared_ptr<const PhaseSnapshot>;

// the phases phase stepping pauses after (Report only closes the iteration: none)
constexpr int kShownPhases = 7;

// the snapshot of a phase that has just run; `trainer` is the one that ran it (read on the
// training thread, before its next phase). Null for the report phase.
PhaseSnapshotPtr makePhaseSnapshot(const core::PhaseResult& r, const core::Trainer& trainer);

// the observation dimensions the advantage picture plots, and their names, for an environment
struct StatePlane {
    int x = 0, y = 1;
    QString xLabel, yLabel;
};
StatePlane statePlane(const std::string& envId, int obsDim);

// a diverging colour for an advantage z in units of the batch's spread: blue (worse than
// expected) through grey to orange (better), saturating at ±2
QColor advantageColour(double z);
// each advantage's colour, z taken against the batch's mean and standard deviation
std::vector<QColor> advantageColours(const std::vector<double>& advantages);

} // namespace ui

Q_DECLARE_METATYPE(ui::PhaseSnapshotPtr)
