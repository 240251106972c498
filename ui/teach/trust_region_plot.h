// TrustRegionPlot: one iteration's update along its step direction (a core::TrustRegionProbe),
// as one chart. x is α, the fraction of the full step βx (α = 1 is the step the update scaled
// to the KL bound). Left axis, in blue: the surrogate improvement L(θ_old + αβx) − L(θ_old)
// and its linear model α·β·gᵀx (dashed). Right axis, in orange: the mean KL(π_old‖π) and its
// quadratic model ½(αβ)²·xᵀFx (dashed), with the bound δ as a horizontal line. The line
// search's trials sit on the KL curve at α = their fraction (accepted: green disc, rejected:
// red cross, each labelled with its reason), and the δ what-if steps as purple diamonds at
// (their α, their KL). Hover gives the exact numbers; a click on a what-if diamond emits
// whatIfClicked. The chart only paints the probe it is given; it computes nothing.
#pragma once

#include <qcustomplot.h>
#include <vector>

#include "ui/metatypes.h"

namespace ui {

class TrustRegionPlot : public QCustomPlot {
    Q_OBJECT
public:
    explicit TrustRegionPlot(QWidget* parent = nullptr);

    // shows p (nullptr: an empty chart); replots
    void setProbe(const ProbePtr& p);
    const ProbePtr& probe() const { return m_probe; }
    // large type and thick lines (a projector)
    void setLarge(bool on);

    // the graphs, for tests: data in α order
    QCPGraph* surrogateGraph() const { return m_surrogate; }
    QCPGraph* linearModelGraph() const { return m_linear; }
    QCPGraph* klGraph() const { return m_kl; }
    QCPGraph* quadraticModelGraph() const { return m_quadratic; }
    QCPGraph* acceptedTrialGraph() const { return m_accepted; }
    QCPGraph* rejectedTrialGraph() const { return m_rejected; }
    QCPGraph* whatIfGraph() const { return m_fan; }
    QCPItemStraightLine* deltaLine() const { return m_deltaLine; }
    QString deltaLabel() const;
    // the labels beside the trials, in trial order ("accepted", "KL 0.031 > δ", …)
    QStringList trialLabels() const;
    // the pixel position of what-if step i's marker (for a click); NaN when it is not drawn:
    // it lies beyond the chart (a note names it), or it is δ itself (the trials show it)
    QPointF whatIfPixel(int i) const;

    // the reason a trial was accepted or not, in a few words ("KL 0.031 > δ")
    static QString trialReason(const core::LineSearchTrial& t, double delta);
    // a what-if step's δ′ relative to the probe's δ: "δ/10", "δ/3", "δ", "3δ", "10δ"
    static QString relativeDelta(double deltaPrime, double delta);

signals:
    void whatIfClicked(int index);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void applyStyle();
    void fitLegend();
    void clearLabels();
    // the item nearest to pos within reach: its tooltip text, and the what-if index if it is one
    QString hoverText(const QPointF& pos, int* whatIf) const;

    ProbePtr m_probe;
    bool m_large = false;
    QCPGraph* m_surrogate = nullptr;
    QCPGraph* m_linear = nullptr;
    QCPGraph* m_kl = nullptr;
    QCPGraph* m_quadratic = nullptr;
    QCPGraph* m_accepted = nullptr;
    QCPGraph* m_rejected = nullptr;
    QCPGraph* m_fan = nullptr;
    QCPItemStraightLine* m_deltaLine = nullptr;
    QCPItemText* m_deltaText = nullptr;
    QCPItemStraightLine* m_fullStepLine = nullptr;
    QCPItemText* m_empty = nullptr;
    std::vector<QCPItemText*> m_trialLabels;
    std::vector<QCPItemText*> m_fanLabels;
    std::vector<QPointF> m_fanPoints; // (α, KL) as drawn, by what-if index; NaN: beyond the chart
};

} // namespace ui
