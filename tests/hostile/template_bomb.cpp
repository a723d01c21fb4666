template <int N> struct Bomb {
    static constexpr long value = Bomb<N - 1>::value + Bomb<N - 2>::value + Bomb<N - 3>::value;
};
template <> struct Bomb<0> { static constexpr long value = 1; };
template <> struct Bomb<1> { static constexpr long value = 1; };
template <> struct Bomb<2> { static constexpr long value = 1; };
template <int N> struct Deep { using type = typename Deep<N + 1>::type; };
int main() { return (int)Deep<0>::type::value + (int)Bomb<100000>::value; }
