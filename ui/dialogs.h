// Dialogs: the window's error messages and Yes/No questions, each replaceable by a hook so
// that tests (and scripted runs) never block on a modal box. Every part of the studio that
// needs to tell or ask the user goes through here; status-bar notes too.
#pragma once

#include <QObject>
#include <QString>
#include <functional>

class QMainWindow;

namespace ui {

class Dialogs : public QObject {
    Q_OBJECT
public:
    using MessageHook = std::function<void(const QString& title, const QString& text)>;
    using QuestionHook = std::function<bool(const QString& title, const QString& text)>;

    explicit Dialogs(QMainWindow* window);

    void setMessageHook(MessageHook hook) { m_messageHook = std::move(hook); }
    void setQuestionHook(QuestionHook hook) { m_questionHook = std::move(hook); }

    // an error: errorShown, the first line in the status bar, then the hook or a warning box
    void showError(const QString& title, const QString& text);
    // a Yes/No question (Yes is the default); the box gets objectName so tests can find it
    bool ask(const QString& title, const QString& text, const QString& objectName = "questionDialog");
    // a note in the status bar for timeoutMs (0: until replaced)
    void showStatus(const QString& text, int timeoutMs = 8000);

signals:
    // every error message shown (also when a hook replaces the dialog)
    void errorShown(const QString& title, const QString& text);

private:
    QMainWindow* m_window;
    MessageHook m_messageHook;
    QuestionHook m_questionHook;
};

} // namespace ui
