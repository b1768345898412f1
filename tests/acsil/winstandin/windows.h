// windows.h for building Sierra Chart's ACSIL headers on Linux in the study's test harness
// (tests/acsil). The project's own stand-in, not Microsoft's header: only the few Windows
// declarations that sierrachart.h / scstructures.h / SCString.h use, with the meaning the
// Windows SDK documents for them (learn.microsoft.com: HeapAlloc, HeapFree, strcpy_s,
// strncpy_s, _stricmp). The MinGW-w64 build of the study (tests/acsil/test_builds.py) uses
// MinGW's real <windows.h> instead.
#ifndef TICKBRIDGE_WINDOWS_STANDIN_H
#define TICKBRIDGE_WINDOWS_STANDIN_H

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <type_traits>

#define __cdecl
#define __stdcall
#define __declspec(x)
#define WINAPI

typedef void* HANDLE;
typedef void* HWND;
typedef void* HDC;
typedef int BOOL;
typedef unsigned long DWORD;
typedef std::size_t SIZE_T;
typedef void* LPVOID;
#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif
#define HEAP_ZERO_MEMORY 0x00000008

inline HANDLE GetProcessHeap() { return reinterpret_cast<HANDLE>(1); }
inline LPVOID HeapAlloc(HANDLE, DWORD flags, SIZE_T bytes) {
    return (flags & HEAP_ZERO_MEMORY) ? std::calloc(1, bytes) : std::malloc(bytes);
}
inline BOOL HeapFree(HANDLE, DWORD, LPVOID block) {
    std::free(block);
    return TRUE;
}

// The secure CRT copies: the copy always ends with NUL; a too-small buffer is an error
// (Windows calls the invalid parameter handler; here the string is cut and NUL-ended).
inline int strcpy_s(char* destination, std::size_t size, const char* source) {
    if (destination == nullptr || size == 0) return 22;
    std::size_t length = std::strlen(source);
    if (length >= size) length = size - 1;
    std::memcpy(destination, source, length);
    destination[length] = '\0';
    return 0;
}
inline int strncpy_s(char* destination, std::size_t size, const char* source, std::size_t count) {
    if (destination == nullptr || size == 0) return 22;
    std::size_t length = strnlen(source, count);
    if (length >= size) length = size - 1;
    std::memcpy(destination, source, length);
    destination[length] = '\0';
    return 0;
}
inline int _stricmp(const char* a, const char* b) { return strcasecmp(a, b); }
inline int stricmp(const char* a, const char* b) { return strcasecmp(a, b); }
inline int _strnicmp(const char* a, const char* b, std::size_t n) { return strncasecmp(a, b, n); }
inline int strnicmp(const char* a, const char* b, std::size_t n) { return strncasecmp(a, b, n); }

// Colours (wingdi.h): COLORREF is 0x00BBGGRR.
typedef unsigned long COLORREF;
#define RGB(r, g, b) \
    ((COLORREF)((DWORD)(unsigned char)(r) | ((DWORD)(unsigned char)(g) << 8) | \
                ((DWORD)(unsigned char)(b) << 16)))
#define GetRValue(rgb) ((unsigned char)(rgb))
#define GetGValue(rgb) ((unsigned char)((rgb) >> 8))
#define GetBValue(rgb) ((unsigned char)((rgb) >> 16))
#define FW_NORMAL 400

// SCString::InternalAppendFormat measures with _vscprintf and then formats with vsprintf
// from one `const va_list&`. On Windows a va_list is a char*, read twice harmlessly; on
// x86-64 Linux it is an array that a reader consumes, so each reader here works on its own
// va_copy (and the const list is accepted where glibc wants a non-const one).
using tickbridge_const_va_list = std::decay_t<const va_list>;
inline int _vscprintf(const char* format, tickbridge_const_va_list arguments) {
    va_list copy;
    va_copy(copy, const_cast<std::decay_t<va_list>>(arguments));
    const int length = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    return length;
}
inline int vsprintf(char* buffer, const char* format, tickbridge_const_va_list arguments) {
    va_list copy;
    va_copy(copy, const_cast<std::decay_t<va_list>>(arguments));
    const int length = std::vsprintf(buffer, format, copy);
    va_end(copy);
    return length;
}

#endif
