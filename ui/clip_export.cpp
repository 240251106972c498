#include "ui/clip_export.h"

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QProgressDialog>
#include <QSpinBox>

#include "ui/dialogs.h"
#include "ui/env_view.h"

namespace ui {

ClipExporter::ClipExporter(EnvView* view, Dialogs* dialogs, QWidget* dialogParent, QObject* parent)
    : QObject(parent), m_view(view), m_dialogs(dialogs), m_dialogParent(dialogParent) {
    connect(this, &ClipExporter::resultsPosted, this, [this] { m_results.drain(); }, Qt::QueuedConnection);
}

ClipExporter::~ClipExporter() {
    m_cancel = true;
    if (m_worker.joinable()) m_worker.join();
}

bool ClipExporter::exportClip(const QString& path, const video::ClipOptions& options) {
    if (isBusy()) {
        m_dialogs->showError(tr("Export clip"), tr("A clip is already being written; wait for it or cancel it."));
        return false;
    }
    const core::SnapshotPtr policy = m_view->snapshot();
    if (!policy) {
        m_dialogs->showError(tr("Export clip"), tr("No policy plays in the viewer yet: train for an iteration, or "
                                                   "open a run or watch a policy file, then export the clip."));
        return false;
    }
    video::ClipOptions o = options;
    o.font = m_view->font();
    m_cancel = false;
    m_progress = new QProgressDialog(tr("Recording %n episode(s) of the policy of iteration %1 into %2…", nullptr, o.episodes)
                                         .arg(policy->iteration)
                                         .arg(QFileInfo(path).fileName()),
                                     tr("Cancel"), 0, 1000, m_dialogParent);
    m_progress->setObjectName("clipProgressDialog");
    m_progress->setWindowTitle(tr("Export clip"));
    m_progress->setMinimumDuration(0);
    m_progress->setAutoClose(false);
    m_progress->setAutoReset(false);
    m_progress->setValue(0);
    connect(m_progress, &QProgressDialog::canceled, this, &ClipExporter::cancel);
    m_progress->show();
    // the worker: the snapshot and the options by value, the cancel flag; nothing else
    m_worker = std::thread([this, policy, o, path] {
        video::ClipResult result;
        QString error;
        try {
            result = video::recordClip(*policy, path.toStdString(), o, [this](double f) {
                m_results.push([this, f] {
                    if (m_progress) m_progress->setValue(static_cast<int>(f * 1000));
                    emit progressChanged(f);
                });
                emit resultsPosted();
                return !m_cancel.load();
            });
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        m_results.push([this, path, result, error] { finished(path, result, error); });
        emit resultsPosted();
    });
    m_dialogs->showStatus(tr("Recording a clip into %1…").arg(path), 0);
    return true;
}

void ClipExporter::cancel() { m_cancel = true; }

void ClipExporter::finished(const QString& path, const video::ClipResult& result, const QString& error) {
    if (m_worker.joinable()) m_worker.join();
    if (m_progress) {
        m_progress->hide();
        m_progress->deleteLater();
        m_progress = nullptr;
    }
    if (!error.isEmpty()) {
        m_dialogs->showError(tr("Export clip"), tr("Could not write the clip: %1").arg(error));
        emit clipFailed(error);
    } else if (result.cancelled) {
        m_dialogs->showStatus(tr("Clip export cancelled; nothing was written."));
        emit clipCancelled();
    } else {
        QStringList returns;
        for (double r : result.returns) returns << QString::number(r, 'f', 1);
        m_dialogs->showStatus(tr("Wrote %1: %2 frames at %3 fps, returns %4")
                                  .arg(path)
                                  .arg(result.frames)
                                  .arg(result.fps)
                                  .arg(returns.join(", ")));
        emit clipExported(path, result.frames);
    }
}

void ClipExporter::exportClipWithDialog() {
    if (m_dialog) {
        m_dialog->raise();
        return;
    }
    auto* dlg = new QDialog(m_dialogParent);
    dlg->setObjectName("exportClipDialog");
    dlg->setWindowTitle(tr("Export clip"));
    dlg->setAttribute(Qt::WA_DeleteOnClose);
    auto* format = new QComboBox;
    format->setObjectName("clipFormat");
    format->addItem(tr("MP4 video (H.264)"), "mp4");
    format->addItem(tr("Animated GIF (loops)"), "gif");
    auto* episodes = new QSpinBox;
    episodes->setObjectName("clipEpisodes");
    episodes->setRange(1, 100);
    episodes->setValue(1);
    auto* width = new QSpinBox;
    width->setObjectName("clipWidth");
    width->setRange(64, 3840);
    width->setSingleStep(2);
    width->setValue(960);
    auto* height = new QSpinBox;
    height->setObjectName("clipHeight");
    height->setRange(64, 2160);
    height->setSingleStep(2);
    height->setValue(540);
    auto* sizeRow = new QHBoxLayout;
    sizeRow->addWidget(width);
    sizeRow->addWidget(new QLabel("×"));
    sizeRow->addWidget(height);
    sizeRow->addWidget(new QLabel(tr("pixels")));
    auto* file = new QLineEdit(QDir::home().filePath("clip.mp4"));
    file->setObjectName("clipFile");
    auto* browse = new QPushButton(tr("Browse…"));
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(file, 1);
    fileRow->addWidget(browse);
    auto* form = new QFormLayout(dlg);
    form->addRow(tr("Format"), format);
    form->addRow(tr("Episodes"), episodes);
    form->addRow(tr("Frame size"), sizeRow);
    form->addRow(tr("File"), fileRow);
    auto* note = new QLabel(tr("The policy playing in the viewer (iteration %1), %2, with the viewer's HUD; "
                                   "episode i is seeded as trpo-eval --seed 0 seeds it.")
                                .arg(m_view->playingIteration())
                                .arg(m_view->isDeterministic() ? tr("deterministic") : tr("stochastic")));
    note->setWordWrap(true);
    form->addRow(note);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Export"));
    buttons->button(QDialogButtonBox::Ok)->setObjectName("clipExportButton");
    form->addRow(buttons);

    // the file's suffix follows the format
    connect(format, &QComboBox::currentIndexChanged, dlg, [format, file] {
        QFileInfo fi(file->text());
        file->setText(QDir(fi.path()).filePath(fi.completeBaseName() + "." + format->currentData().toString()));
    });
    connect(browse, &QPushButton::clicked, dlg, [dlg, format, file] {
        const QString ext = format->currentData().toString();
        const QString path = QFileDialog::getSaveFileName(dlg, tr("Export clip"), file->text(),
                                                          ext == "gif" ? tr("GIF (*.gif)") : tr("MP4 (*.mp4)"));
        if (!path.isEmpty()) file->setText(QFileInfo(path).suffix().isEmpty() ? path + "." + ext : path);
    });
    connect(buttons, &QDialogButtonBox::rejected, dlg, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, dlg, [this, dlg, format, episodes, width, height, file] {
        const QString path = file->text().trimmed();
        if (path.isEmpty()) {
            m_dialogs->showError(tr("Export clip"), tr("Give the clip a file name."));
            return;
        }
        video::ClipOptions o;
        o.format = format->currentData().toString() == "gif" ? video::ClipFormat::Gif : video::ClipFormat::Mp4;
        o.episodes = episodes->value();
        o.size = QSize(width->value(), height->value());
        o.deterministic = m_view->isDeterministic();
        o.largeText = m_view->largeText();
        o.seed = 0; // episode i is trpo-eval --seed 0's episode i
        if (exportClip(path, o)) dlg->accept();
    });
    m_dialog = dlg;
    dlg->open();
}

} // namespace ui
