/* The name rules shared by every protocol: nicks, room names, casemapping. */
#ifndef CHATD_NAME_H
#define CHATD_NAME_H

#define NAME_NICK_MAX	30	/* bytes, ASCII */
#define NAME_ROOM_MAX	51	/* bytes: '#' and up to 50 of UTF-8 */

int	name_nick_valid(const char *);
int	name_room_valid(const char *);
int	name_compare(const char *, const char *);
int	name_fold(int);

#endif
