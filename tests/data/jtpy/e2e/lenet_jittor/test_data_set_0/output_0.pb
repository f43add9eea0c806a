
BoutputJ(•dÎÂ¥´BvLÂD]B<—*?ã1ÁåÄ3ÁRr{ÀËoÂÔ B