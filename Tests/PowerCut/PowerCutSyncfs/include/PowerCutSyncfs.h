// LD_PRELOAD shim for the power-cut test: see syncfs.c.
int syncfs(int fd);
