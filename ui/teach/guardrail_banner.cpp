#include "ui/teach/guardrail_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/banner.h"
#include "ui/run_history.h"
#include "ui/training_session.h"

namespace ui {

GuardrailBanner::GuardrailBanner(TrainingSession* session, RunHistory* history, QWidget* parent)
    : QFrame(parent), m_session(session), m_history(history) {
    styleBanner(this, "guardrailBanner", {"#fde8e1", "#d55e00", "#3d1400", 3});
    m_text = new QLabel;
    m_text->setObjectName("guardrailText");
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::RichText);
    m_rollBack = new QPushButton(tr("Roll back"));
    m_rollBack->setObjectName("rollBackButton");
    m_rollBack->setToolTip(tr("Restore the policy, the critic and the normalisers of the last good iteration. "
                              "The undone iterations stay in the plots, greyed; Start continues from there."));
    m_keepGoing = new QPushButton(tr("Keep going"));
    m_keepGoing->setObjectName("keepGoingButton");
    m_keepGoing->setToolTip(tr("Dismiss: nothing is undone, and Start trains on from this state"));
    for (QPushButton* b : {m_rollBack, m_keepGoing}) {
        QFont f = b->font();
        f.setPointSizeF(f.pointSizeF() * 1.3);
        f.setBold(true);
        b->setFont(f);
        b->setMinimumHeight(b->sizeHint().height() + 10);
    }
    auto* buttons = new QVBoxLayout;
    buttons->addWidget(m_rollBack);
    buttons->addWidget(m_keepGoing);
    buttons->addStretch(1);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(14, 10, 14, 10);
    layout->addWidget(m_text, 1);
    layout->addLayout(buttons);
    hide();

    connect(m_session, &TrainingSession::divergenceDetected, this,
            [this](const core::IterationStats& s, const QString& why) { onDivergence(s.iteration, why); });
    connect(m_session, &TrainingSession::rolledBack, this, &GuardrailBanner::onRolledBack);
    connect(m_session, &TrainingSession::rollBackFailed, this, [this](const QString& why) {
        setMessage(tr("Could not roll back"), why.toHtmlEscaped());
        m_rollBack->hide();
        m_keepGoing->setText(tr("Dismiss"));
    });
    connect(m_rollBack, &QPushButton::clicked, this, [this] {
        m_rollBack->setEnabled(false);
        m_session->rollBack();
    });
    connect(m_keepGoing, &QPushButton::clicked, this, &QWidget::hide);
    // a new run, or training again (Start, or an iteration after the diverged one, as after
    // Step): the banner's news is old
    connect(m_history, &RunHistory::reset, this, &QWidget::hide);
    connect(m_history, &RunHistory::loaded, this, &QWidget::hide);
    connect(m_history, &RunHistory::iterationAppended, this, &QWidget::hide);
    connect(m_session, &TrainingSession::runningChanged, this, [this](bool running) {
        if (running) hide();
    });
}

void GuardrailBanner::setMessage(const QString& headline, const QString& body) {
    // x-large and large are relative to the window's font, so presentation mode enlarges them
    m_text->setText(QString("<div style='font-size:xx-large; font-weight:bold'>%1</div>"
                            "<div style='font-size:x-large'>%2</div>")
                        .arg(headline.toHtmlEscaped(), body));
}

void GuardrailBanner::onDivergence(int iteration, const QString& explanation) {
    setMessage(tr("Training paused at iteration %1: the guardrail caught a divergence").arg(iteration),
               explanation.toHtmlEscaped());
    m_rollBack->show();
    m_rollBack->setEnabled(true);
    m_keepGoing->setText(tr("Keep going"));
    show();
}

void GuardrailBanner::onRolledBack(int diverged, int restored) {
    m_history->markRolledBack(restored + 1, diverged);
    const QString undone = restored + 1 == diverged ? tr("Iteration %1 stays in the plots, greyed.").arg(diverged)
                                                    : tr("Iterations %1–%2 stay in the plots, greyed.").arg(restored + 1).arg(diverged);
    setMessage(restored > 0 ? tr("Rolled back to the state after iteration %1").arg(restored)
                            : tr("Rolled back to the state the run started with"),
               tr("The policy, the critic and the normalisers are as they were then. %1 Press Start to continue from "
                  "there.")
                   .arg(undone));
    m_rollBack->hide();
    m_keepGoing->setText(tr("OK"));
    show();
}

} // namespace ui
