/* symbols.c — code addresses to function names, for dumps.
 *
 * Owns: a small cache of mapped ELF files.
 *
 * dladdr alone names only dynamic symbols: a static function, or any
 * function of an executable linked without -rdynamic (libsmarm.a linked
 * into a program included), comes back nameless.  So for a nameless
 * address we map the object's file (the executable through
 * /proc/self/exe) read-only and search its .symtab (or, stripped, its
 * .dynsym) for the function that contains the address.  Files are mapped
 * on first use and stay mapped (dumps are rare; a handful of objects).
 * Everything is bounds-checked against the file's size: a truncated or
 * odd file gives no name, never a fault.
 *
 * Lock order: cache_lock is a leaf.  Never switches.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define NFILES 16

struct elf_file {
	uintptr_t base;          /* dli_fbase: the load address */
	const unsigned char *map;
	size_t size;
	const Elf64_Sym *syms;   /* NULL: no symbol table found */
	size_t nsyms;
	const char *strs;
	size_t strsize;
};

static smarm__lock_t cache_lock = SMARM__LOCK_INIT;
static struct elf_file files[NFILES];
static int nfiles;

static bool in_file(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

/* Find the symbol table of a mapped ELF file: .symtab, else .dynsym. */
static void find_syms(struct elf_file *f)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->map;
	const Elf64_Shdr *sh;

	if (f->size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof *sh ||
	    !in_file(f, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof *sh))
		return;
	sh = (const Elf64_Shdr *)(f->map + eh->e_shoff);
	for (int want = SHT_SYMTAB; want; want = want == SHT_SYMTAB ? SHT_DYNSYM : 0) {
		for (unsigned i = 0; i < eh->e_shnum; i++) {
			const Elf64_Shdr *s = &sh[i], *str;
			if (s->sh_type != (unsigned)want || s->sh_link >= eh->e_shnum)
				continue;
			str = &sh[s->sh_link];
			if (!in_file(f, s->sh_offset, s->sh_size) ||
			    !in_file(f, str->sh_offset, str->sh_size) || str->sh_size == 0)
				continue;
			f->syms = (const Elf64_Sym *)(f->map + s->sh_offset);
			f->nsyms = s->sh_size / sizeof(Elf64_Sym);
			f->strs = (const char *)(f->map + str->sh_offset);
			f->strsize = str->sh_size;
			return;
		}
	}
}

/* The cached file loaded at base, mapping it on first use. */
static struct elf_file *file_for(uintptr_t base, const char *path)
{
	struct elf_file *f;
	struct stat st;
	void *m;
	int fd;

	for (int i = 0; i < nfiles; i++)
		if (files[i].base == base)
			return &files[i];
	if (nfiles == NFILES)
		return NULL;
	f = &files[nfiles++];
	memset(f, 0, sizeof *f);
	f->base = base;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return f;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) != MAP_FAILED) {
		f->map = m;
		f->size = (size_t)st.st_size;
		find_syms(f);
	}
	close(fd);
	return f;
}

/* The function symbol of f that contains file address a. */
static const char *lookup(const struct elf_file *f, uintptr_t a, uintptr_t *off, int type)
{
	const Elf64_Sym *best = NULL;

	for (size_t i = 0; i < f->nsyms; i++) {
		const Elf64_Sym *s = &f->syms[i];
		if (ELF64_ST_TYPE(s->st_info) != type || s->st_shndx == SHN_UNDEF ||
		    s->st_name >= f->strsize || a < s->st_value)
			continue;
		if (a - s->st_value < (s->st_size ? s->st_size : 1) &&
		    (!best || s->st_value > best->st_value))
			best = s;
	}
	if (!best)
		return NULL;
	*off = a - best->st_value;
	return f->strs + best->st_name;
}

/* Shared by both entry points: addr is the byte to name. */
static bool name_at(uintptr_t addr, struct smarm__sym *y, int type)
{
	Dl_info di;
	const char *slash;

	memset(y, 0, sizeof *y);
	if (!dladdr((void *)addr, &di) || !di.dli_fname)
		return false;
	slash = strrchr(di.dli_fname, '/');
	y->obj = slash ? slash + 1 : di.dli_fname;
	if (!y->obj[0])
		y->obj = program_invocation_short_name;
	y->off = addr - (uintptr_t)di.dli_fbase;
	if (di.dli_sname && di.dli_saddr) {
		y->name = di.dli_sname;
		y->off = addr - (uintptr_t)di.dli_saddr;
		return true;
	}
	/* The main program has an empty or relative dli_fname; its base is where the
	 * first object is loaded (0 for a non-PIE executable: then file
	 * addresses are absolute, as they are here). */
	const char *path = di.dli_fname[0] == '/' ? di.dli_fname : "/proc/self/exe";
	uintptr_t base = (uintptr_t)di.dli_fbase;
	Elf64_Ehdr *eh = di.dli_fbase;
	if (eh && eh->e_type == ET_EXEC)
		base = 0;
	smarm__lock(&cache_lock);
	struct elf_file *f = file_for((uintptr_t)di.dli_fbase, path);
	uintptr_t off;
	const char *name = f ? lookup(f, addr - base, &off, type) : NULL;
	smarm__unlock(&cache_lock);
	if (name) {
		y->name = name;
		y->off = off;
	}
	return name != NULL;
}

bool smarm__symbolise(uintptr_t pc, struct smarm__sym *y)
{
	/* pc is a return address: name the call instruction's last byte. */
	bool r = name_at(pc - 1, y, STT_FUNC);

	y->off++;
	return r;
}

bool smarm__symbolise_data(const void *p, struct smarm__sym *y)
{
	return name_at((uintptr_t)p, y, STT_OBJECT);
}
