// PhaseView: phase stepping's panel. It shows the phase that has just run (a PhaseSnapshot):
// its title, its equation with the current numbers put in, one sentence on what to look at,
// and a picture of its own (the episodes' returns, the batch's states coloured by advantage,
// g and x with the angle between them, the CG residuals, the quadratic KL model against δ,
// the line-search trials, the critic's loss per epoch). It only displays snapshots.
#pragma once

#include <QWidget>

#include "ui/teach/phase_snapshot.h"

class QCustomPlot;
class QLabel;

namespace ui {

class PhaseView : public QWidget {
    Q_OBJECT
public:
    explicit PhaseView(QWidget* parent = nullptr);

    void show(const PhaseSnapshotPtr& snapshot);
    // nothing to show (a reset, or training at full speed)
    void clear(const QString& hint);
    void setLargeText(bool large);

    const PhaseSnapshotPtr& snapshot() const { return m_snapshot; }
    QLabel* titleLabel() const { return m_title; }
    QLabel* equationLabel() const { return m_equation; }
    QCustomPlot* picture() const { return m_plot; }
    QCustomPlot* secondPicture() const { return m_plot2; }

private:
    void drawSample(const PhaseSnapshot& s);
    void drawAdvantages(const PhaseSnapshot& s);
    void drawVectors(const PhaseSnapshot& s, bool withX);
    void drawResiduals(const PhaseSnapshot& s);
    void drawStepScale(const PhaseSnapshot& s);
    void drawTrials(const PhaseSnapshot& s);
    void drawEpochLosses(const PhaseSnapshot& s);
    void resetPlot(QCustomPlot* p);

    PhaseSnapshotPtr m_snapshot;
    QLabel* m_title = nullptr;
    QLabel* m_equation = nullptr;
    QLabel* m_reading = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCustomPlot* m_plot2 = nullptr;
    bool m_large = false;
};

} // namespace ui
