/* version.c: the version of the library that is loaded, from the project version. */
#include "ember.h"

const char *ember_version(void) {
    return EMBER_VERSION_STRING;
}
