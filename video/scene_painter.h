// Painting an environment's scene (its DrawList) with the viewer's HUD. The studio's viewer
// (ui/env_view.cpp) paints its widget with it and the clips (video/clip_recorder.h) paint
// their frames with it, so a clip looks exactly like the viewer.
#pragma once

#include <QColor>
#include <QFont>
#include <QHash>
#include <QImage>
#include <QPainter>
#include <QRect>
#include <QRegion>
#include <QStringList>
#include <optional>
#include <vector>

#include "sim/draw_list.h"

namespace video {

// who plays, and the episode so far: the left box of the HUD
struct PlayerHud {
    enum class Player { Random, Policy, Heuristic };
    Player player = Player::Random;
    int iteration = 0; // the policy's
    bool deterministic = false;
    double episodeReturn = 0;
    int step = 0;
    std::optional<double> lastReturn; // the last finished episode's
    int speed = 1;                    // the viewer's 2× or 4×
};
QStringList playerHudLines(const PlayerHud& h);

// the batch's states (phase stepping): dots at statePoints, rods from stateAnchors (one per
// point, or none), a caption under the scene
struct StatesOverlay {
    std::vector<sim::Vec2> points, anchors;
    std::vector<QColor> colours;
    QString caption;
};

// the π_old ghost (ui/env_view.h): another scene drawn translucent over the first, in its
// camera, and a trail of coloured dots (the per-state KL along π_new's states)
struct GhostOverlay {
    const sim::DrawList* scene = nullptr;
    int alpha = 95;
    std::vector<sim::Vec2> trail;
    std::vector<QColor> trailColours;
};

// where paintScene puts the HUD's two boxes: the player's at the top left, the environment's
// values at the top right (or under the first where they would cover it); an empty
// rectangle for a box it does not draw
struct HudLayout {
    QRect player, environment;
};

struct SceneOverlay;

// What a view that paints the scene sixty times a second keeps between frames: the HUD's
// translucent rounded boxes, each drawn once per size into an image (stroking them anew took
// a fifth of the viewer's painting time). One cache per painting thread; the clips paint
// without one.
class PaintCache {
public:
    // a rounded box of `size` (filled, with a one-pixel border centred on its edge), as an
    // image `margin` pixels larger on every side, to draw at the box's top left − margin
    const QImage& box(QSize size, double radius, QColor fill, QColor border, double devicePixelRatio);
    static constexpr int margin = 1;
    // hudLayout, remembered for the last two scenes asked about: the viewer asks for each
    // frame's twice (what changed since the last frame, then the paint), and measuring the
    // text is most of the cost
    HudLayout hudLayout(QSize size, const sim::DrawList& scene, const SceneOverlay& overlay);

private:
    QHash<QString, QImage> m_boxes;
    struct Remembered {
        int width = -1;
        QStringList hud;
        std::vector<std::pair<std::string, std::string>> envHud;
        QFont font;
        bool largeText = false, environmentHud = true;
        HudLayout layout;
    };
    Remembered m_layouts[2];
    int m_nextLayout = 0;
};

struct SceneOverlay {
    QStringList hud;        // the left box (playerHudLines); empty: no HUD at all
    bool environmentHud = true; // the environment's own values (DrawList::hud) in the right box
    QString banner;         // a bold amber banner at the bottom ("Waiting for the first policy"); empty: none
    const StatesOverlay* states = nullptr;
    const GhostOverlay* ghost = nullptr;
    QFont font;             // the HUD's base font (the widget's)
    bool largeText = false; // presentation mode's type
    PaintCache* cache = nullptr; // optional; the picture is the same with or without one
};

// screen <-> world for a camera shown in a w x h rectangle (aspect kept, y up)
QPointF worldToScreen(const sim::Camera& cam, QSizeF size, const sim::Vec2& p);
sim::Vec2 screenToWorld(const sim::Camera& cam, QSizeF size, const QPointF& p);

// the primitives of `list` seen through `cam`, their colours' alpha scaled by alpha/255
void paintPrimitives(QPainter& p, const sim::Camera& cam, QSize size, const sim::DrawList& list, int alpha = 255);

// paints the whole of `size` (from (0,0)) on p: background, primitives, states, HUD, banner
void paintScene(QPainter& p, QSize size, const sim::DrawList& scene, const SceneOverlay& overlay);

HudLayout hudLayout(QSize size, const sim::DrawList& scene, const SceneOverlay& overlay);
// overlay.cache's remembered layout when there is a cache
HudLayout cachedHudLayout(QSize size, const sim::DrawList& scene, const SceneOverlay& overlay);

// the pixels a primitive of `list` can touch when paintPrimitives draws it (its pen and the
// anti-aliasing's fringe included)
QRect primitiveBounds(const sim::Camera& cam, QSize size, const sim::Primitive& prim);

// What changes on a view of `size` when the scene `before`, painted with the HUD lines
// `hudBefore`, gives way to `after`, painted with `overlay`: the bounds of every primitive that
// changed, where it was and where it is, and both frames' HUD boxes. It is the whole view
// when anything else may have changed: the camera, the background, the number of primitives,
// or an overlay other than the HUD (the banner, the batch's states, the ghost). Painting
// `after` over a picture of `before` with the painter clipped to it gives the picture that
// painting `after` whole gives, so a view that paints sixty times a second repaints and
// sends to the screen only this part of itself.
QRegion sceneDamage(QSize size, const sim::DrawList& before, const QStringList& hudBefore, const sim::DrawList& after,
                    const SceneOverlay& overlay);

} // namespace video
