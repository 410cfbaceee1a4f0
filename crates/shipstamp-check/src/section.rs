//! Finding the shipstamp section in an ELF, Mach-O or PE file by reading its headers only:
//! the file header, the section table (and its names), and the section itself. Symbol
//! tables, code and data are never read, so a 200 MB binary costs what a 2 MB one does.

use object::read::ReadRef;
use object::read::elf::SectionHeader as _;
use object::read::macho::{LoadCommandVariant, Section as _};
use object::{FileKind, elf, macho, pe};

/// Why no section could be looked for.
#[derive(Debug)]
pub(crate) enum SectionError {
    /// Not an ELF, Mach-O or PE file.
    NotAnExecutable,
    /// A file of this format whose headers do not hold together.
    Damaged(&'static str, object::read::Error),
}

fn not_an_executable() -> SectionError {
    SectionError::NotAnExecutable
}

fn damaged(format: &'static str, e: object::read::Error) -> SectionError {
    SectionError::Damaged(format, e)
}

/// The contents of the shipstamp section, or `None` when the file has none.
pub(crate) fn find<'data, R: ReadRef<'data>>(data: R) -> Result<Option<&'data [u8]>, SectionError> {
    match FileKind::parse(data).map_err(|_| not_an_executable())? {
        FileKind::Elf32 => elf::<elf::FileHeader32<object::Endianness>, R>(data),
        FileKind::Elf64 => elf::<elf::FileHeader64<object::Endianness>, R>(data),
        FileKind::MachO32 => mach_o::<macho::MachHeader32<object::Endianness>, R>(data),
        FileKind::MachO64 => mach_o::<macho::MachHeader64<object::Endianness>, R>(data),
        FileKind::Pe32 => pe::<pe::ImageNtHeaders32, R>(data),
        FileKind::Pe64 => pe::<pe::ImageNtHeaders64, R>(data),
        _ => Err(not_an_executable()),
    }
}

fn elf<'data, H: object::read::elf::FileHeader, R: ReadRef<'data>>(
    data: R,
) -> Result<Option<&'data [u8]>, SectionError> {
    let bad = |e: object::read::Error| damaged("ELF", e);
    let header = H::parse(data).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    let sections = header.sections(endian, data).map_err(bad)?;
    let Some((_, section)) = sections.section_by_name(endian, shipstamp::SECTION_ELF.as_bytes())
    else {
        return Ok(None);
    };
    if section.sh_type(endian) == elf::SHT_NOBITS {
        return Ok(None);
    }
    section.data(endian, data).map(Some).map_err(bad)
}

fn mach_o<'data, H: object::read::macho::MachHeader, R: ReadRef<'data>>(
    data: R,
) -> Result<Option<&'data [u8]>, SectionError> {
    let bad = |e: object::read::Error| damaged("Mach-O", e);
    let header = H::parse(data, 0).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    let mut commands = header.load_commands(endian, data, 0).map_err(bad)?;
    while let Some(command) = commands.next().map_err(bad)? {
        let found = match command.variant().map_err(bad)? {
            LoadCommandVariant::Segment32(segment, sections) => {
                in_segment(segment, sections, endian, data)
            }
            LoadCommandVariant::Segment64(segment, sections) => {
                in_segment(segment, sections, endian, data)
            }
            _ => Ok(None),
        };
        if let Some(section) = found.map_err(bad)? {
            return Ok(Some(section));
        }
    }
    Ok(None)
}

/// The shipstamp section's data if `segment` is the one that holds it.
fn in_segment<'data, S: object::read::macho::Segment, R: ReadRef<'data>>(
    segment: &S,
    section_headers: &'data [u8],
    endian: S::Endian,
    data: R,
) -> object::read::Result<Option<&'data [u8]>> {
    let (segment_name, section_name) = shipstamp::SECTION_MACH_O;
    if segment.name() != segment_name.as_bytes() {
        return Ok(None);
    }
    let sections = segment.sections(endian, section_headers)?;
    match sections
        .iter()
        .find(|s| s.name() == section_name.as_bytes())
    {
        Some(s) => s.data(endian, data, u64::from(s.offset(endian))).map(Some),
        None => Ok(None),
    }
}

fn pe<'data, H: object::read::pe::ImageNtHeaders, R: ReadRef<'data>>(
    data: R,
) -> Result<Option<&'data [u8]>, SectionError> {
    let bad = |e: object::read::Error| damaged("PE", e);
    let dos = pe::ImageDosHeader::parse(data).map_err(bad)?;
    let mut offset = dos.nt_headers_offset().into();
    let (nt, _) = H::parse(data, &mut offset).map_err(bad)?;
    let sections = nt.sections(data, offset).map_err(bad)?;
    // PE image section names are inline (8 bytes at most), without a string table.
    let no_strings = object::read::StringTable::<R>::default();
    let Some((_, section)) = sections.section_by_name(no_strings, shipstamp::SECTION_PE.as_bytes())
    else {
        return Ok(None);
    };
    section.pe_data(data).map(Some).map_err(bad)
}
