/* taglist.c: not written yet */
#include "internal.h"
