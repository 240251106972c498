#include "video/clip_recorder.h"

#include <QImage>
#include <QPainter>
#include <algorithm>
#include <cmath>

#include "sim/registry.h"
#include "video/scene_painter.h"

namespace video {

ClipResult recordClip(const core::PolicySnapshot& policy, const std::filesystem::path& target, const ClipOptions& o,
                      const std::function<bool(double)>& progress) {
    if (o.episodes < 1) throw ClipError(target.string() + ": at least one episode is needed");
    if (o.size.width() < 16 || o.size.height() < 16 || o.size.width() > 3840 || o.size.height() > 2160)
        throw ClipError(target.string() + ": the frame size must be from 16x16 to 3840x2160");
    std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment(policy.envId);
    if (!env) throw ClipError(target.string() + ": no viewer for environment '" + policy.envId + "'");
    const core::EnvSpec& spec = env->spec();
    if (spec.observation.dim() != policy.observationSpace.dim() || spec.action.isDiscrete() != policy.actionSpace.isDiscrete() ||
        spec.action.policyOutputs() != policy.actionSpace.policyOutputs())
        throw ClipError(target.string() + ": the policy's spaces do not fit " + spec.id);

    const int maxFps = o.maxFps > 0 ? o.maxFps : (o.format == ClipFormat::Gif ? 25 : 50);
    const double envFps = std::max(1.0, spec.frameRate);
    const int stepsPerFrame = std::max(1, static_cast<int>(std::ceil(envFps / maxFps - 1e-9)));
    const int fps = std::max(1, static_cast<int>(std::lround(envFps / stepsPerFrame)));
    const int holdFrames = std::max(0, static_cast<int>(std::lround(o.holdSeconds * fps)));

    ClipWriter writer(target, o.format, o.size.width(), o.size.height(), fps);
    QImage image(writer.width(), writer.height(), QImage::Format_RGB32);
    SceneOverlay overlay;
    overlay.font = o.font;
    overlay.largeText = o.largeText;
    sim::DrawList scene;
    PlayerHud hud;
    hud.player = PlayerHud::Player::Policy;
    hud.iteration = policy.iteration;
    hud.deterministic = o.deterministic;

    ClipResult result;
    result.fps = fps;
    result.encoder = writer.encoderName();
    auto paint = [&] {
        env->draw(scene);
        overlay.hud = playerHudLines(hud);
        QPainter p(&image);
        paintScene(p, image.size(), scene, overlay);
        p.end();
        writer.addFrame(image);
    };
    std::vector<double> obs(static_cast<size_t>(spec.observation.dim())), action(static_cast<size_t>(spec.action.dim()));
    for (int i = 0; i < o.episodes; ++i) {
        core::Rng rng = core::Rng::stream(o.seed, static_cast<std::uint64_t>(i));
        core::PolicySnapshot::ActState held; // held noise, a recurrent policy's state
        env->reset(o.seed + static_cast<std::uint64_t>(i), obs);
        hud.episodeReturn = 0;
        hud.step = 0;
        paint();
        bool over = false;
        while (!over) {
            for (int k = 0; k < stepsPerFrame && !over; ++k) {
                policy.act(obs, rng, o.deterministic, action, &held);
                const core::StepResult s = env->step(action, obs);
                hud.episodeReturn += s.reward;
                ++hud.step;
                over = s.terminated || s.truncated;
            }
            paint();
            if (over)
                for (int h = 0; h < holdFrames; ++h) writer.addFrame(image);
            const double f = (i + (over ? 1.0 : std::min(1.0, hud.step / double(spec.maxEpisodeSteps)))) / o.episodes;
            if (progress && !progress(f)) {
                writer.cancel();
                result.cancelled = true;
                return result;
            }
        }
        result.returns.push_back(hud.episodeReturn);
        result.lengths.push_back(hud.step);
        hud.lastReturn = hud.episodeReturn;
    }
    writer.finish();
    result.frames = writer.frames();
    return result;
}

} // namespace video
