#include "dist/collective_mpi.h"

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <stdexcept>

#ifdef TRPO_HAVE_MPI
#include <mpi.h>
#endif

namespace dist {

int launchedRanks() {
    // Open MPI's mpirun, then any PMI-based launcher (MPICH's Hydra, Slurm's srun)
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
        if (const char* v = std::getenv(var)) {
            const int n = std::atoi(v);
            if (n >= 1) return n;
        }
    return 1;
}

#ifdef TRPO_HAVE_MPI

bool available() { return true; }

namespace {

bool launchedByMpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE"); }

std::string errorText(int code) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    return std::string(text, static_cast<size_t>(len));
}

class MpiCollective final : public core::Collective {
public:
    MpiCollective(int& argc, char**& argv) {
        int ok = 0;
        MPI_Initialized(&ok);
        if (!ok) MPI_Init(&argc, &argv);
        // a failed call returns its error instead of ending the process: the exchange then
        // throws a message saying which call failed (usually: another rank has died)
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &m_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &m_size);
    }
    ~MpiCollective() override {
        int done = 0;
        MPI_Finalized(&done);
        if (!done) MPI_Finalize();
    }
    int rank() const override { return m_rank; }
    int size() const override { return m_size; }

    std::vector<std::vector<std::uint8_t>> allGather(const std::vector<std::uint8_t>& mine) override {
        const auto t0 = std::chrono::steady_clock::now();
        const int n = static_cast<int>(mine.size());
        std::vector<int> sizes(static_cast<size_t>(m_size)), offsets(static_cast<size_t>(m_size));
        check(MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
        std::int64_t total = 0;
        for (int r = 0; r < m_size; ++r) {
            offsets[static_cast<size_t>(r)] = static_cast<int>(total);
            total += sizes[static_cast<size_t>(r)];
        }
        if (total > INT32_MAX) throw std::runtime_error("an exchange between ranks is larger than 2 GB");
        std::vector<std::uint8_t> all(static_cast<size_t>(total));
        check(MPI_Allgatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE,
                             MPI_COMM_WORLD),
              "MPI_Allgatherv");
        std::vector<std::vector<std::uint8_t>> blocks(static_cast<size_t>(m_size));
        for (int r = 0; r < m_size; ++r)
            blocks[static_cast<size_t>(r)].assign(all.begin() + offsets[static_cast<size_t>(r)],
                                                  all.begin() + offsets[static_cast<size_t>(r)] + sizes[static_cast<size_t>(r)]);
        // sent: this rank's size and block; received: the others' (the block sizes, then the blocks)
        account(t0, static_cast<std::int64_t>(sizeof(int)) * m_size + total);
        return blocks;
    }

    void allGatherInPlace(double* data, const std::vector<int>& counts) override {
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<int> offsets(counts.size());
        std::int64_t total = 0;
        for (size_t r = 0; r < counts.size(); ++r) {
            offsets[r] = static_cast<int>(total);
            total += counts[r];
        }
        check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), offsets.data(), MPI_DOUBLE,
                             MPI_COMM_WORLD),
              "MPI_Allgatherv");
        // sent: this rank's part; received: the others' parts
        account(t0, static_cast<std::int64_t>(sizeof(double)) * total);
    }

    core::CollectiveStats stats() const override { return m_stats; }

private:
    void check(int code, const char* call) const {
        if (code == MPI_SUCCESS) return;
        throw std::runtime_error(std::string(call) + " failed on rank " + std::to_string(m_rank) + " of " +
                                 std::to_string(m_size) + " (" + errorText(code) +
                                 "); another rank of the job has probably died");
    }
    void account(std::chrono::steady_clock::time_point t0, std::int64_t bytes) {
        ++m_stats.calls;
        m_stats.bytes += bytes;
        m_stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    int m_rank = 0, m_size = 1;
    core::CollectiveStats m_stats;
};

} // namespace

std::shared_ptr<core::Collective> start(int& argc, char**& argv) {
    if (!launchedByMpirun()) return nullptr;
    return std::make_shared<MpiCollective>(argc, argv);
}

void abortJob(int code) {
    int ok = 0, done = 0;
    MPI_Initialized(&ok);
    MPI_Finalized(&done);
    std::fflush(stdout);
    std::fflush(stderr);
    if (ok && !done) MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

#else // a build without MPI

bool available() { return false; }

std::shared_ptr<core::Collective> start(int&, char**&) {
    if (launchedRanks() > 1)
        throw std::runtime_error("mpirun started " + std::to_string(launchedRanks()) +
                                 " ranks, but this trpo-train was built without MPI (TRPO_MPI=OFF): every rank would "
                                 "train alone and write the same run directory");
    return nullptr;
}

void abortJob(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
}

#endif

} // namespace dist
