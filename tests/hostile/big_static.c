/* A 1 GB initialised array: the object file and the binary would be 1 GB. */
char big[1024L * 1024 * 1024] = {1};
int main(int argc, char **argv) {
    big[argc * 1000] = argv[0][0];
    return big[argc * 7];
}
