#include "core/episode_record.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace core {

const char* episodeRankName(EpisodeRank r) {
    switch (r) {
    case EpisodeRank::Best: return "best";
    case EpisodeRank::Median: return "median";
    case EpisodeRank::Worst: return "worst";
    }
    return "?";
}

std::size_t IterationEpisodes::actionBytes() const {
    std::size_t n = 0;
    for (const auto* e : {&best, &median, &worst})
        if (*e) n += (*e)->actions.size() * sizeof(double);
    return n;
}

IterationEpisodes pickEpisodes(int iteration, const std::vector<Episode>& episodes, int actionDim) {
    IterationEpisodes out;
    out.iteration = iteration;
    if (episodes.empty()) return out;
    auto record = [&](const Episode& e) {
        return EpisodeRecord{e.seed, actionDim, e.actions, e.ret, e.length};
    };
    // indices by return, a stable sort: equal returns keep batch order
    std::vector<std::size_t> order(episodes.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return episodes[a].ret < episodes[b].ret; });
    // the first of the highest returns in batch order
    std::size_t best = order.back();
    for (std::size_t i : order)
        if (episodes[i].ret == episodes[best].ret) {
            best = i;
            break;
        }
    out.best = record(episodes[best]);
    out.median = record(episodes[order[(order.size() - 1) / 2]]);
    out.worst = record(episodes[order.front()]);
    return out;
}

namespace {

nlohmann::json recordToJson(const EpisodeRecord& r) {
    return {{"seed", r.seed}, {"action_dim", r.actionDim}, {"return", r.ret}, {"length", r.length}, {"actions", r.actions}};
}

EpisodeRecord recordFromJson(const nlohmann::json& j, const char* rank) {
    const std::string where = std::string("the ") + rank + " episode";
    if (!j.is_object()) throw std::runtime_error(where + " is not an object");
    auto need = [&](const char* key) -> const nlohmann::json& {
        if (!j.contains(key)) throw std::runtime_error(where + " has no \"" + key + "\"");
        return j.at(key);
    };
    EpisodeRecord r;
    const nlohmann::json& seed = need("seed");
    if (!seed.is_number_unsigned()) throw std::runtime_error(where + ": \"seed\" is not an unsigned integer");
    r.seed = seed.get<std::uint64_t>();
    const nlohmann::json& dim = need("action_dim");
    if (!dim.is_number_integer() || dim.get<long long>() < 1 || dim.get<long long>() > 64)
        throw std::runtime_error(where + ": \"action_dim\" must be an integer from 1 to 64");
    r.actionDim = dim.get<int>();
    const nlohmann::json& ret = need("return");
    if (!ret.is_number()) throw std::runtime_error(where + ": \"return\" is not a number");
    r.ret = ret.get<double>();
    const nlohmann::json& len = need("length");
    if (!len.is_number_integer() || len.get<long long>() < 0 || len.get<long long>() > 100000000)
        throw std::runtime_error(where + ": \"length\" must be a non-negative integer");
    r.length = len.get<int>();
    const nlohmann::json& actions = need("actions");
    if (!actions.is_array()) throw std::runtime_error(where + ": \"actions\" is not a list");
    if (actions.size() != static_cast<std::size_t>(r.length) * static_cast<std::size_t>(r.actionDim))
        throw std::runtime_error(where + ": " + std::to_string(actions.size()) + " action values, expected length x action_dim = " +
                                 std::to_string(static_cast<long long>(r.length) * r.actionDim));
    r.actions.reserve(actions.size());
    for (const nlohmann::json& a : actions) {
        if (!a.is_number()) throw std::runtime_error(where + ": an action is not a number");
        r.actions.push_back(a.get<double>());
    }
    return r;
}

} // namespace

nlohmann::json episodesToJson(const IterationEpisodes& e) {
    nlohmann::json j = {{"iteration", e.iteration}};
    for (EpisodeRank r : {EpisodeRank::Best, EpisodeRank::Median, EpisodeRank::Worst})
        if (const auto& rec = e.get(r)) j[episodeRankName(r)] = recordToJson(*rec);
    return j;
}

IterationEpisodes episodesFromJson(const nlohmann::json& j) {
    if (!j.is_object()) throw std::runtime_error("an episode line is not an object");
    if (!j.contains("iteration") || !j.at("iteration").is_number_integer())
        throw std::runtime_error("an episode line has no integer \"iteration\"");
    IterationEpisodes e;
    e.iteration = j.at("iteration").get<int>();
    const std::string at = "iteration " + std::to_string(e.iteration) + ": ";
    try {
        if (j.contains("best")) e.best = recordFromJson(j.at("best"), "best");
        if (j.contains("median")) e.median = recordFromJson(j.at("median"), "median");
        if (j.contains("worst")) e.worst = recordFromJson(j.at("worst"), "worst");
    } catch (const std::runtime_error& err) {
        throw std::runtime_error(at + err.what());
    }
    if (e.best.has_value() != e.median.has_value() || e.best.has_value() != e.worst.has_value())
        throw std::runtime_error(at + "has some of best, median and worst but not all three");
    return e;
}

ReplayOutcome replayEpisode(Environment& env, const EpisodeRecord& record) {
    const int ad = env.spec().action.dim();
    if (record.actionDim != ad || record.actions.size() % static_cast<std::size_t>(ad) != 0)
        throw std::invalid_argument("the episode's actions have " + std::to_string(record.actionDim) +
                                    " values a step; the environment takes " + std::to_string(ad));
    std::vector<double> obs(static_cast<std::size_t>(env.spec().observation.dim()));
    env.reset(record.seed, obs);
    ReplayOutcome out;
    for (std::size_t k = 0; k < record.actions.size(); k += static_cast<std::size_t>(ad)) {
        const StepResult r = env.step(std::span<const double>(record.actions.data() + k, static_cast<std::size_t>(ad)), obs);
        out.ret += r.reward;
        ++out.length;
        if (r.terminated || r.truncated) {
            out.ended = true;
            break;
        }
    }
    return out;
}

Rollout rollout(const PolicySnapshot& policy, Environment& env, std::uint64_t seed, Rng rng, bool deterministic,
                int maxSteps) {
    const int od = env.spec().observation.dim(), ad = env.spec().action.dim();
    Rollout out;
    out.obsDim = od;
    out.actionDim = ad;
    std::vector<double> obs(static_cast<std::size_t>(od)), action(static_cast<std::size_t>(ad));
    env.reset(seed, obs);
    PolicySnapshot::ActState held;
    for (int k = 0; k < maxSteps; ++k) {
        out.obs.insert(out.obs.end(), obs.begin(), obs.end());
        policy.act(obs, rng, deterministic, action, &held);
        out.actions.insert(out.actions.end(), action.begin(), action.end());
        const StepResult r = env.step(action, obs);
        out.ret += r.reward;
        ++out.length;
        if (r.terminated || r.truncated) break;
    }
    return out;
}

VectorXd perStateKl(const PolicySnapshot& oldPolicy, const PolicySnapshot& newPolicy, const MatrixXd& rawObs) {
    if (oldPolicy.policy.numParams() != newPolicy.policy.numParams() ||
        oldPolicy.policy.obsDim() != newPolicy.policy.obsDim() ||
        oldPolicy.policy.discrete() != newPolicy.policy.discrete() ||
        oldPolicy.theta.size() != newPolicy.theta.size())
        throw std::invalid_argument("π_old and π_new have different policy layouts");
    if (rawObs.rows() != oldPolicy.policy.obsDim())
        throw std::invalid_argument("observations have " + std::to_string(rawObs.rows()) + " rows, the policy takes " +
                                    std::to_string(oldPolicy.policy.obsDim()));
    if (rawObs.cols() == 0) return VectorXd();
    // the states as π_old's update saw them: its normaliser, frozen for that iteration
    MatrixXd x = rawObs;
    oldPolicy.normalizer.normalize(x);
    NetworkWorkspace ws;
    DistBatch dOld, dNew;
    oldPolicy.policy.distribution(oldPolicy.theta, x, ws, dOld);
    newPolicy.policy.distribution(newPolicy.theta, x, ws, dNew);
    return oldPolicy.policy.kl(dOld, dNew);
}

} // namespace core
