// The coloured strips the studio shows across the top of the viewer (the solved banner, the
// replay bar, the guardrail's warning): one look, so a class learns to read them. Each is a
// QFrame with a background, a bottom border and a text colour, set by its object name.
#pragma once

#include <QFrame>
#include <QMargins>

class QHBoxLayout;
class QLabel;

namespace ui {

struct BannerColors {
    const char* background;
    const char* border;
    const char* text;
    int borderWidth = 2; // px
};

// names the frame and colours it and the labels inside it
void styleBanner(QFrame* frame, const QString& objectName, const BannerColors& colors);

// a hidden banner: a frame with a horizontal layout holding one label that takes the spare
// width; the caller adds its buttons to the layout
struct Banner {
    QFrame* frame = nullptr;
    QHBoxLayout* layout = nullptr;
    QLabel* text = nullptr;
};
Banner makeBanner(const QString& objectName, const QString& textObjectName, const BannerColors& colors,
                  const QMargins& margins);

} // namespace ui
