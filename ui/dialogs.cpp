#include "ui/dialogs.h"

#include <QMainWindow>
#include <QMessageBox>
#include <QStatusBar>

namespace ui {

Dialogs::Dialogs(QMainWindow* window) : QObject(window), m_window(window) {}

void Dialogs::showError(const QString& title, const QString& text) {
    emit errorShown(title, text);
    showStatus(text.section('\n', 0, 0), 10000);
    if (m_messageHook)
        m_messageHook(title, text);
    else
        QMessageBox::warning(m_window, title, text);
}

bool Dialogs::ask(const QString& title, const QString& text, const QString& objectName) {
    if (m_questionHook) return m_questionHook(title, text);
    QMessageBox box(QMessageBox::Question, title, text, QMessageBox::Yes | QMessageBox::No, m_window);
    box.setObjectName(objectName);
    box.setDefaultButton(QMessageBox::Yes);
    return box.exec() == QMessageBox::Yes;
}

void Dialogs::showStatus(const QString& text, int timeoutMs) { m_window->statusBar()->showMessage(text, timeoutMs); }

} // namespace ui
