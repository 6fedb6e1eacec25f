/** Reading .deb files: moved to @hook/debian (other libraries unpack .debs too). */
export { extractDebData, readArMembers, type ArMember } from '@hook/debian';
