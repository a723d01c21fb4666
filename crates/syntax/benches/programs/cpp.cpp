#include <iostream>
#include <vector>
#include <map>
#include <string>
#include <algorithm>

namespace geo_N {

template <typename T>
struct Point {
    T x, y;
    std::string label;
    T norm2() const { return x * x + y * y; }
};

class Grid {
public:
    explicit Grid(int w, int h) : w_(w), h_(h), cells_(w * h, 0) {}
    int& at(int x, int y) { return cells_[y * w_ + x]; }
    int sum() const {
        int s = 0;
        for (auto c : cells_) s += c;
        return s;
    }
private:
    int w_, h_;
    std::vector<int> cells_;
};

}  // namespace geo_N

int solve_N(std::istream& in) {
    // "system" in a comment is fine
    std::vector<geo_N::Point<double>> pts;
    std::map<std::string, int> counts;
    double x, y;
    std::string label;
    while (in >> x >> y >> label) {
        pts.push_back({x, y, label});
        counts[label]++;
    }
    std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.norm2() < b.norm2(); });
    geo_N::Grid grid(8, 8);
    for (size_t i = 0; i < pts.size(); ++i) grid.at(i % 8, (i / 8) % 8) += 1;
    std::cout << "points: " << pts.size() << " grid: " << grid.sum() << "\n";
    return counts.empty() ? 1 : 0;
}

