#include "ui/banner.h"

#include <QHBoxLayout>
#include <QLabel>

namespace ui {

void styleBanner(QFrame* frame, const QString& objectName, const BannerColors& c) {
    frame->setObjectName(objectName);
    frame->setStyleSheet(QString("#%1 { background: %2; border-bottom: %3px solid %4; } #%1 QLabel { color: %5; }")
                             .arg(objectName, c.background)
                             .arg(c.borderWidth)
                             .arg(c.border, c.text));
}

Banner makeBanner(const QString& objectName, const QString& textObjectName, const BannerColors& colors,
                  const QMargins& margins) {
    Banner b;
    b.frame = new QFrame;
    styleBanner(b.frame, objectName, colors);
    b.layout = new QHBoxLayout(b.frame);
    b.layout->setContentsMargins(margins);
    b.text = new QLabel;
    b.text->setObjectName(textObjectName);
    b.text->setTextFormat(Qt::RichText);
    b.layout->addWidget(b.text, 1);
    b.frame->hide();
    return b;
}

} // namespace ui
