/* Leveled logging to stderr (with <N> priorities under journald). */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

void	log_init(const char *progname);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
int	log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);

void	log_warn(const char *, ...) PRINTFLIKE(1, 2);	/* adds strerror */
void	log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void	log_error(const char *, ...) PRINTFLIKE(1, 2);
void	log_notice(const char *, ...) PRINTFLIKE(1, 2);
void	log_info(const char *, ...) PRINTFLIKE(1, 2);
void	log_debug(const char *, ...) PRINTFLIKE(1, 2);
_Noreturn void fatal(const char *, ...) PRINTFLIKE(1, 2);
_Noreturn void fatalx(const char *, ...) PRINTFLIKE(1, 2);

#endif
