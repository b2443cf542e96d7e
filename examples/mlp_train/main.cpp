// Trains an MLP on Fashion-MNIST with reluforge's fused kernels (JIT-compiled on first use and
// kept in the kernel cache) and reports loss, accuracy and speed per epoch, then the units of
// each hidden layer that never activated in the last epoch.
#include "fashion_mnist.h"
#include "mlp.h"

#include <reluforge/jit/engine.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

int main(int argc, char **argv) {
    CLI::App app{"mlp_train: an MLP on Fashion-MNIST with reluforge's fused layers"};
    std::string data_dir = mlp::kDefaultDataDir, act_text = "relu", hidden_text = "256,128";
    mlp::Options o;
    int epochs = 6, batch = 128, subset = 0, threads = 0;
    float lr_decay = 0.7f;
    bool expect_loss_falls = false;
    app.add_option("--data", data_dir, "directory of the idx .gz files")->capture_default_str();
    app.add_option("--act", act_text, "hidden activation, in spec syntax: relu, gelu, silu, elu(alpha=0.5), ...")
        ->capture_default_str();
    app.add_option("--hidden", hidden_text, "hidden layer widths")->capture_default_str();
    app.add_option("--epochs", epochs)->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--batch", batch)->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--optimizer", o.optimizer)->capture_default_str()->check(CLI::IsMember({"adam", "sgd"}));
    app.add_option("--lr", o.learning_rate, "learning rate (sgd: try 0.05)")->capture_default_str();
    app.add_option("--momentum", o.momentum, "sgd momentum")->capture_default_str();
    app.add_option("--lr-decay", lr_decay, "learning rate factor per epoch")->capture_default_str();
    app.add_option("--seed", o.seed)->capture_default_str();
    app.add_option("--subset", subset, "train on the first N images only (0: all)")->capture_default_str();
    app.add_option("--threads", threads, "kernel threads (0: one per core)")->capture_default_str();
    app.add_flag("--expect-loss-falls", expect_loss_falls,
                 "exit 1 unless the mean loss of the last tenth of the steps is below that of the first tenth");
    CLI11_PARSE(app, argc, argv);

    mlp::Dataset train, test;
    try {
        o.act = reluforge::parse_activation(act_text);
        o.sizes = {784};
        for (auto part : CLI::detail::split(hidden_text, ',')) o.sizes.push_back(std::stoi(part));
        o.sizes.push_back(10);
        if (!std::filesystem::exists(data_dir + "/train-images-idx3-ubyte.gz")) {
            fmt::print(stderr,
                       "mlp_train: Fashion-MNIST is not in {}.\n"
                       "Install Debian's package:  sudo apt-get install dataset-fashion-mnist\n"
                       "or point --data at a directory holding train-images-idx3-ubyte.gz and its siblings.\n",
                       data_dir);
            return 2;
        }
        train = mlp::load_fashion_mnist(data_dir, "train");
        test = mlp::load_fashion_mnist(data_dir, "t10k");
    } catch (const std::exception &e) {
        fmt::print(stderr, "mlp_train: {}\n", e.what());
        return 2;
    }
    if (subset > 0) train.rows = std::min(train.rows, subset);

    reluforge::jit::enable();
    reluforge::set_num_threads(threads);
    mlp::Network net(o, batch);
    std::string layout;
    for (size_t k = 0; k < o.sizes.size(); k++) layout += (k ? "-" : "") + std::to_string(o.sizes[k]);
    fmt::print("MLP {} ({} hidden), {} with lr {} (x{} per epoch), batch {}, {} training images, {} test images, {} threads\n",
               layout, reluforge::to_string(o.act), o.optimizer, o.learning_rate, lr_decay, batch, train.rows, test.rows,
               reluforge::num_threads());

    std::mt19937 rng(o.seed);
    std::vector<int> order(train.rows);
    std::vector<float> xb(size_t(batch) * train.cols);
    std::vector<std::uint8_t> yb(batch), predicted(batch);
    std::vector<float> step_losses;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        net.reset_active_counts();
        net.set_learning_rate_scale(std::pow(lr_decay, float(epoch - 1)));
        double loss_sum = 0;
        int correct = 0, steps = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int start = 0; start < train.rows; start += batch) {
            const int rows = std::min(batch, train.rows - start);
            for (int i = 0; i < rows; i++) {
                const int src = order[start + i];
                std::copy_n(&train.images[size_t(src) * train.cols], train.cols, &xb[size_t(i) * train.cols]);
                yb[i] = train.labels[src];
            }
            const float loss = net.train_step(xb.data(), yb.data(), rows, &correct);
            loss_sum += double(loss) * rows;
            step_losses.push_back(loss);
            steps++;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        int test_correct = 0;
        for (int start = 0; start < test.rows; start += batch) {
            const int rows = std::min(batch, test.rows - start);
            net.predict(&test.images[size_t(start) * test.cols], rows, predicted.data());
            for (int i = 0; i < rows; i++) test_correct += predicted[i] == test.labels[start + i];
        }
        fmt::print("epoch {:>2}  loss {:.4f}  train accuracy {:.4f}  test accuracy {:.4f}  {:.0f} samples/s\n", epoch,
                   loss_sum / train.rows, double(correct) / train.rows, double(test_correct) / test.rows,
                   train.rows / seconds);
    }

    // Dead units: columns whose act'(z) was zero for every training row of the last epoch.
    for (int l = 0; l < net.hidden_layers(); l++) {
        const auto &active = net.active_counts()[l];
        std::vector<int> dead;
        for (size_t j = 0; j < active.size(); j++) {
            if (active[j] == 0) dead.push_back(int(j));
        }
        fmt::print("hidden layer {}: {} of {} units never active in the last epoch{}{}\n", l + 1, dead.size(),
                   active.size(), dead.empty() ? "" : ": ", fmt::join(dead, " "));
    }

    if (expect_loss_falls) {
        const size_t tenth = std::max<size_t>(1, step_losses.size() / 10);
        const double first = std::accumulate(step_losses.begin(), step_losses.begin() + tenth, 0.0) / tenth;
        const double last = std::accumulate(step_losses.end() - tenth, step_losses.end(), 0.0) / tenth;
        fmt::print("mean loss of the first {} steps {:.4f}, of the last {} steps {:.4f}\n", tenth, first, tenth, last);
        if (!(last < first)) {
            fmt::print(stderr, "mlp_train: the loss did not fall\n");
            return 1;
        }
    }
    return 0;
}
