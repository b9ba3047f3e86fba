/** The thumbnail's storage key: `thumb_<size>/<file id>` (never a client's name). */
export const thumbnailKey = (fileId: string, size: number): string => `thumb_${size}/${fileId}`;
