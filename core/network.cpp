#include "core/network.h"

#include <stdexcept>

namespace core {

NetworkSpec networkSpec(const TrpoConfig& cfg, const EnvSpec& env, const std::vector<int>& hidden) {
    NetworkSpec s;
    s.kind = cfg.network;
    s.inputs = env.observation.dim();
    s.hidden = hidden;
    s.act = cfg.activation;
    if (cfg.network == NetworkKind::Cnn) {
        if (!env.image)
            throw ConfigError("network = cnn needs an image observation, and " + env.id +
                              "'s observation is a vector (use network = mlp, or a pixel environment such as CubeCrash-v0)");
        s.image = *env.image;
        s.conv = cfg.convLayers;
        ImageShape in = s.image;
        for (size_t l = 0; l < s.conv.size(); ++l) {
            const ConvLayerSpec& c = s.conv[l];
            if (c.kernel > in.height || c.kernel > in.width)
                throw ConfigError("conv_layers: layer " + std::to_string(l + 1) + "'s " + std::to_string(c.kernel) + "x" +
                                  std::to_string(c.kernel) + " kernel does not fit the " + std::to_string(in.height) + "x" +
                                  std::to_string(in.width) + " image it reads (" + env.id + "'s observation is " +
                                  std::to_string(s.image.channels) + " channels of " + std::to_string(s.image.height) + "x" +
                                  std::to_string(s.image.width) + ")");
            in = {c.filters, (in.height - c.kernel) / c.stride + 1, (in.width - c.kernel) / c.stride + 1};
        }
    }
    return s;
}

void checkNetwork(const TrpoConfig& cfg, const EnvSpec& env) { (void)networkSpec(cfg, env, cfg.hidden); }

template <typename Scalar>
BasicNetwork<Scalar>::BasicNetwork(const NetworkSpec& spec, int outputs) : m_kind(spec.kind) {
    std::vector<int> sizes = spec.hidden;
    sizes.push_back(outputs);
    if (isConv()) {
        if (spec.image.size() != spec.inputs)
            throw std::invalid_argument("Network: the image holds " + std::to_string(spec.image.size()) +
                                        " values, the observation " + std::to_string(spec.inputs));
        m_conv = BasicConvNet<Scalar>(spec.image, spec.conv, std::move(sizes), spec.act);
    } else {
        sizes.insert(sizes.begin(), spec.inputs);
        m_mlp = BasicMlp<Scalar>(std::move(sizes), spec.act);
    }
}

template <typename Scalar>
NetworkSpec BasicNetwork<Scalar>::spec() const {
    NetworkSpec s;
    s.kind = m_kind;
    s.inputs = inputs();
    const BasicMlp<Scalar>& head = mlp();
    s.hidden.assign(head.sizes().begin() + 1, head.sizes().end() - 1);
    s.act = head.activation();
    if (isConv()) {
        s.image = m_conv.shape(0);
        s.conv = m_conv.convLayers();
    }
    return s;
}

template class BasicNetwork<double>;
template class BasicNetwork<float>;

} // namespace core
