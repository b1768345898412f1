// io.h stand-in for the Linux test harness (see windows.h here): scstructures.h includes
// it; the study uses nothing it declares.
#ifndef TICKBRIDGE_IO_STANDIN_H
#define TICKBRIDGE_IO_STANDIN_H
#include <unistd.h>
#endif
