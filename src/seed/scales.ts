/** How much data each seed scale makes. `large` is the size the benchmark (bench/, README § Performance) runs against. */
export interface SeedCounts {
  users: number;
  posts: number;
  questions: number;
  answersPerQuestion: number;
  comments: number;
  reactions: number;
  followsPerUser: number;
  bookmarks: number;
}

export const SCALES: Record<string, SeedCounts> = {
  tiny: { users: 50, posts: 200, questions: 50, answersPerQuestion: 2, comments: 500, reactions: 1_000, followsPerUser: 5, bookmarks: 100 },
  small: { users: 300, posts: 2_000, questions: 500, answersPerQuestion: 3, comments: 8_000, reactions: 20_000, followsPerUser: 10, bookmarks: 1_000 },
  medium: { users: 10_000, posts: 100_000, questions: 25_000, answersPerQuestion: 3, comments: 500_000, reactions: 1_000_000, followsPerUser: 20, bookmarks: 50_000 },
  large: { users: 100_000, posts: 800_000, questions: 200_000, answersPerQuestion: 3, comments: 5_000_000, reactions: 10_000_000, followsPerUser: 20, bookmarks: 500_000 },
};
