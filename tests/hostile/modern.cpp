#include <iostream>
#include <map>
#include <optional>
#include <string_view>
#include <variant>
int main() {
    std::map<std::string_view, int> m{{"a", 1}, {"b", 2}};
    int sum = 0;
    for (const auto& [k, v] : m) sum += v;
    std::optional<int> o = sum;
    std::variant<int, std::string_view> var = "cpp17";
    if constexpr (sizeof(int) >= 4) std::cout << std::get<std::string_view>(var) << " " << *o << "\n";
}
